"""The webhook receiver: a Flask blueprint with one URL per sender, mounted by ``sidecar serve``.

``POST /webhooks/sidecar``       lms-sidecar's own schema, Standard Webhooks signatures
``POST /webhooks/totara``        Totara 19 webhooks, ``X-Totara-Signature``
``POST /webhooks/moodle``        Moodle's local_webhooks plugin, the shared ``token`` in the body
``POST /webhooks/tool-trigger``  Moodle's tool_trigger HTTP post step, a header secret

Order of checks: size (413), proof of origin (401), body (400). The event is committed to the
inbox before the 2xx leaves, so a crash after the answer loses nothing and a crash before it
makes the sender retry, which the inbox deduplicates. Logs carry event and inbox ids, never
secrets, signatures or bodies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from flask import Blueprint, Request, Response, jsonify, request
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import store
from config.webhooks import HeaderSecretSource, WebhookSettings
from webhooks import events, verify
from webhooks.errors import PayloadError, TooLargeError, WebhookError
from webhooks.inbox import IncomingEvent, Recorded, prepare_event, record_prepared

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
URL_NAMES = {"sidecar": "sidecar", "totara": "totara", "moodle": "moodle",
             "tool-trigger": "tool_trigger"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def create_blueprint(settings: WebhookSettings, engine: Engine,
                     clock: Clock = _utcnow) -> Blueprint:
    """The receiver for ``settings``, storing into ``engine``'s inbox; ``clock`` for tests."""
    blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
    window = timedelta(hours=settings.dedupe_window_hours)

    @blueprint.post("/<name>")
    def receive(name: str) -> tuple[Response, int]:
        source = URL_NAMES.get(name)
        if source is None or not settings.source(source).enabled:
            return _error(404, f"no enabled webhook sender at /webhooks/{name}; enabled: "
                          f"{', '.join(_enabled(settings)) or 'none'}")
        try:
            body = read_body(request, settings.max_body_bytes)
            event = _authenticate_and_parse(source, body, settings, clock())
        except WebhookError as exc:
            log.info("webhook %s refused (%d): %s", source, exc.status, exc.message)
            return _error(exc.status, exc.message)
        try:
            # The row and its parameters are made before the writer turn, so the turn (which
            # every webhook of every worker queues for) holds only the database's work; then a
            # Core connection, no ORM session: one statement in a BEGIN IMMEDIATE transaction,
            # committed when the block ends (before the answer), rolled back if it raises.
            prepared = prepare_event(event, now=clock(), window=window, dialect=engine.dialect)
            with store.sqlite_writer(engine), engine.begin() as connection:
                recorded = record_prepared(connection, prepared)
        except SQLAlchemyError as exc:
            log.error("webhook %s event %s not stored: %s", source, event.event_id,
                      type(exc).__name__)
            return _error(503, "the inbox is unavailable; retry later")
        store.checkpoint_wal(engine)  # SQLite: a thread copies the log back, not this request
        return answer(event, recorded)

    return blueprint


def _enabled(settings: WebhookSettings) -> list[str]:
    return [url for url, key in URL_NAMES.items() if settings.source(key).enabled]


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def answer(event: IncomingEvent, recorded: Recorded) -> tuple[Response, int]:
    """The 2xx for a stored (or already known) event; the row is committed already.

    The per-event line is DEBUG: at INFO a line per accepted event cost ~7 % of the request
    (the handler's redaction filter, formatting and the write); the inbox row holds the same
    facts (source, event id, status, time), refusals stay at INFO. The body is what
    ``jsonify`` makes (sorted keys, compact, a final newline), built without its machinery.
    """
    outcome = ("duplicate" if not recorded.created
               else "ignored" if recorded.status == "ignored" else "accepted")
    log.debug("webhook %s event %s: %s (inbox %d)", event.source, event.event_id, outcome,
              recorded.inbox_id)
    body = json.dumps({"event_type": event.event_type, "inbox_id": recorded.inbox_id,
                       "status": outcome}, separators=(",", ":"))
    return Response(body + "\n", mimetype="application/json"), 200


def read_body(req: Request, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes, whatever Content-Length claims.

    Raises:
        TooLargeError: the declared length or the bytes actually sent exceed ``limit``.
    """
    declared = req.content_length
    if declared is not None and declared > limit:
        raise TooLargeError(f"body of {declared} bytes is larger than the {limit} accepted")
    data = req.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"body is larger than the {limit} bytes accepted")
    return data


def _authenticate_and_parse(source: str, body: bytes, settings: WebhookSettings,
                            now: datetime) -> IncomingEvent:
    secrets = settings.source(source).resolved_secrets
    if source == "sidecar":
        headers = request.headers  # case-insensitive; only the three headers are read
        msg_id = verify.verify_standard(
            body, {name: headers.get(name, "") for name in verify.STANDARD_HEADERS}, secrets,
            now=now, tolerance=settings.tolerance_seconds)
        return events.sidecar_event(events.parse_json(body), msg_id)
    if source == "totara":
        verify.verify_totara(body, request.headers.get(verify.TOTARA_HEADER), secrets)
        data = events.parse_json(body)
        sent = data.get("time_sent")
        if isinstance(sent, int) and not isinstance(sent, bool) and sent > 0:
            verify.check_timestamp(datetime.fromtimestamp(sent, UTC), now,
                                   settings.tolerance_seconds, "time_sent")
        return events.totara_event(data)
    if source == "moodle":
        data = _lenient_json(body)
        token = data.get("token")
        verify.verify_shared_secret(token if isinstance(token, str) else None, secrets,
                                    "token field")
        return events.moodle_event(data, source)
    header_source = settings.tool_trigger
    assert isinstance(header_source, HeaderSecretSource)
    verify.verify_shared_secret(request.headers.get(header_source.header), secrets,
                                f"header {header_source.header}")
    return events.moodle_event(_form_or_json(body), source)


def _lenient_json(body: bytes) -> dict[str, object]:
    """The body as JSON for reading the token; a body that is not JSON has no token (401)."""
    try:
        return events.parse_json(body)
    except PayloadError:
        return {}


def _form_or_json(body: bytes) -> dict[str, object]:
    """tool_trigger posts its fields form-encoded (or JSON when the admin templated JSON)."""
    if request.mimetype == "application/json" or body.lstrip().startswith(b"{"):
        return events.parse_json(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("malformed body: not UTF-8 text") from exc
    return dict(parse_qsl(text, keep_blank_values=True))
