"""The webhook receiver: a Flask blueprint with one URL per sender, mounted by ``sidecar serve``.

``POST /webhooks/sidecar``       lms-sidecar's own schema, Standard Webhooks signatures
``POST /webhooks/totara``        Totara 19 webhooks, ``X-Totara-Signature``
``POST /webhooks/moodle``        Moodle's local_webhooks plugin, the shared ``token`` in the body
``POST /webhooks/tool-trigger``  Moodle's tool_trigger HTTP post step, a header secret

Order of checks: size (413), proof of origin (401), body (400). The event is committed to the
inbox before the 2xx leaves, so a crash after the answer loses nothing and a crash before it
makes the sender retry, which the inbox deduplicates. Logs carry event and inbox ids, never
secrets, signatures or bodies.

``sidecar serve`` answers ``POST /webhooks/<name>`` through :func:`route_webhooks`, a WSGI
route in front of the Flask app (Flask's request and response machinery, ~60 us of a ~450 us
webhook, does nothing for these requests); the blueprint serves every other method and any app
that mounts only it. Both call one :class:`Receiver`, so the answers are the same bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, request
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.exceptions import InternalServerError
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

import store
from config.webhooks import HeaderSecretSource, WebhookSettings
from store.db import sqlite_write
from webhooks import events, verify
from webhooks.errors import PayloadError, TooLargeError, WebhookError
from webhooks.inbox import IncomingEvent, Recorded, prepare_event, record_prepared

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
URL_NAMES = {"sidecar": "sidecar", "totara": "totara", "moodle": "moodle",
             "tool-trigger": "tool_trigger"}
PREFIX = "/webhooks/"
JSON_TYPE = "application/json"
#: An answer: status code and the JSON body (what ``jsonify`` made: compact, final newline).
Answer = tuple[int, bytes]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Delivery:
    """What the receiver reads of a request, whichever way it arrived (Flask or WSGI)."""

    headers: Headers
    stream: IO[bytes]
    content_length: int | None
    mimetype: str


@dataclass
class Receiver:
    """The receiver for ``settings``, storing into ``engine``'s inbox; ``clock`` for tests."""

    settings: WebhookSettings
    engine: Engine
    clock: Clock = _utcnow
    window: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.window = timedelta(hours=self.settings.dedupe_window_hours)

    def __call__(self, name: str, delivery: Delivery) -> Answer:
        """Check, store and answer one delivery to ``/webhooks/<name>``."""
        settings = self.settings
        source = URL_NAMES.get(name)
        if source is None or not settings.source(source).enabled:
            return _error(404, f"no enabled webhook sender at /webhooks/{name}; enabled: "
                          f"{', '.join(_enabled(settings)) or 'none'}")
        try:
            body = read_body(delivery.stream, delivery.content_length, settings.max_body_bytes)
            event = _authenticate_and_parse(source, body, delivery, settings, self.clock())
        except WebhookError as exc:
            log.info("webhook %s refused (%d): %s", source, exc.status, exc.message)
            return _error(exc.status, exc.message)
        engine = self.engine
        try:
            # The row and its parameters are made before the writer turn, so the turn (which
            # every webhook of every worker queues for) holds only the database's work: on
            # SQLite the driver's connection in a BEGIN IMMEDIATE transaction (no SQLAlchemy
            # Connection: its machinery cost as much as the INSERT), elsewhere a Core
            # connection; one statement, committed when the block ends (before the answer),
            # rolled back if it raises.
            prepared = prepare_event(event, now=self.clock(), window=self.window,
                                     dialect=engine.dialect)
            if prepared.driver is not None:
                with sqlite_write(engine) as driver:
                    recorded = record_prepared(driver, prepared)
            else:
                with store.sqlite_writer(engine), engine.begin() as connection:
                    recorded = record_prepared(connection, prepared)
        except SQLAlchemyError as exc:
            log.error("webhook %s event %s not stored: %s", source, event.event_id,
                      type(exc).__name__)
            return _error(503, "the inbox is unavailable; retry later")
        store.checkpoint_wal(engine)  # SQLite: a thread copies the log back, not this request
        return answer(event, recorded)


def create_blueprint(settings: WebhookSettings, engine: Engine,
                     clock: Clock = _utcnow) -> Blueprint:
    """The receiver for ``settings`` as a blueprint, storing into ``engine``'s inbox."""
    return blueprint_for(Receiver(settings, engine, clock))


def blueprint_for(receiver: Receiver) -> Blueprint:
    """``POST /webhooks/<name>`` answered by ``receiver`` through Flask."""
    blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")

    @blueprint.post("/<name>")
    def receive(name: str) -> tuple[Response, int]:
        status, body = receiver(name, Delivery(request.headers, request.stream,
                                               request.content_length, request.mimetype))
        return Response(body, mimetype=JSON_TYPE), status

    return blueprint


def mount(app: Flask, settings: WebhookSettings, engine: Engine,
          clock: Clock = _utcnow) -> Receiver:
    """Serve the receiver on ``app``: the blueprint, and :func:`route_webhooks` in front."""
    receiver = Receiver(settings, engine, clock)
    app.register_blueprint(blueprint_for(receiver))
    app.wsgi_app = route_webhooks(app, receiver)  # type: ignore[method-assign, assignment]
    return receiver


def route_webhooks(app: Flask, receiver: Receiver) -> WSGIApplication:
    """A WSGI application that answers ``POST /webhooks/<name>`` with ``receiver`` and hands
    every other request to ``app``'s own ``wsgi_app``.

    An unexpected error is what Flask makes of it: re-raised when the app propagates
    exceptions (testing, debug), else logged and answered 500.
    """
    inner = app.wsgi_app

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PREFIX):
            return inner(environ, start_response)
        name = path[len(PREFIX):]
        if not name or "/" in name:
            return inner(environ, start_response)
        try:
            status, body = receiver(name, Delivery(
                EnvironHeaders(environ), get_input_stream(environ),
                get_content_length(environ),
                parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower()))
        except Exception:
            propagate = app.config["PROPAGATE_EXCEPTIONS"]
            if propagate or (propagate is None and (app.testing or app.debug)):
                raise
            log.exception("webhook at %s failed", path)
            return InternalServerError()(environ, start_response)
        start_response(f"{status} {HTTP_STATUS_CODES[status].upper()}",
                       [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def _enabled(settings: WebhookSettings) -> list[str]:
    return [url for url, key in URL_NAMES.items() if settings.source(key).enabled]


def _error(status: int, message: str) -> Answer:
    return status, _json({"error": message})


def _json(data: dict[str, Any]) -> bytes:
    """What ``jsonify`` makes of ``data``: sorted keys, compact, a final newline."""
    return (json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n").encode()


def answer(event: IncomingEvent, recorded: Recorded) -> Answer:
    """The 2xx for a stored (or already known) event; the row is committed already.

    The per-event line is DEBUG: at INFO a line per accepted event cost ~7 % of the request
    (the handler's redaction filter, formatting and the write); the inbox row holds the same
    facts (source, event id, status, time), refusals stay at INFO.
    """
    outcome = ("duplicate" if not recorded.created
               else "ignored" if recorded.status == "ignored" else "accepted")
    log.debug("webhook %s event %s: %s (inbox %d)", event.source, event.event_id, outcome,
              recorded.inbox_id)
    return 200, _json({"event_type": event.event_type, "inbox_id": recorded.inbox_id,
                       "status": outcome})


def read_body(stream: IO[bytes], declared: int | None, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes, whatever Content-Length (``declared``) claims.

    Raises:
        TooLargeError: the declared length or the bytes actually sent exceed ``limit``.
    """
    if declared is not None and declared > limit:
        raise TooLargeError(f"body of {declared} bytes is larger than the {limit} accepted")
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"body is larger than the {limit} bytes accepted")
    return data


def _authenticate_and_parse(source: str, body: bytes, delivery: Delivery,
                            settings: WebhookSettings, now: datetime) -> IncomingEvent:
    secrets = settings.source(source).resolved_secrets
    if source == "sidecar":
        headers = delivery.headers  # case-insensitive; only the three headers are read
        msg_id = verify.verify_standard(
            body, {name: headers.get(name, "") for name in verify.STANDARD_HEADERS}, secrets,
            now=now, tolerance=settings.tolerance_seconds)
        return events.sidecar_event(events.parse_json(body), msg_id)
    if source == "totara":
        verify.verify_totara(body, delivery.headers.get(verify.TOTARA_HEADER), secrets)
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
    verify.verify_shared_secret(delivery.headers.get(header_source.header), secrets,
                                f"header {header_source.header}")
    return events.moodle_event(_form_or_json(body, delivery.mimetype), source)


def _lenient_json(body: bytes) -> dict[str, object]:
    """The body as JSON for reading the token; a body that is not JSON has no token (401)."""
    try:
        return events.parse_json(body)
    except PayloadError:
        return {}


def _form_or_json(body: bytes, mimetype: str) -> dict[str, object]:
    """tool_trigger posts its fields form-encoded (or JSON when the admin templated JSON)."""
    if mimetype == JSON_TYPE or body.lstrip().startswith(b"{"):
        return events.parse_json(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("malformed body: not UTF-8 text") from exc
    return dict(parse_qsl(text, keep_blank_values=True))
