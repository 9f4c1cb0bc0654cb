"""Reading each sender's body into an :class:`~webhooks.inbox.IncomingEvent`.

One function per sender. Each raises :class:`PayloadError` naming the field that is missing
or wrong; an event type that is not a course completion is returned as it is (the inbox
records it as ignored), so senders are not made to retry something that will never change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from webhooks.errors import PayloadError
from webhooks.inbox import COURSE_COMPLETED, IncomingEvent

#: lms-sidecar's own event type for a course completion (webhooks/README.md).
SIDECAR_COMPLETED = "course.completed"
#: Moodle's and Totara's event class of a course completion.
MOODLE_COMPLETED = "\\core\\event\\course_completed"
#: Fields of a Moodle delivery that must never be stored (local_webhooks' shared secret).
SECRET_FIELDS = frozenset({"token"})


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        PayloadError: not UTF-8, not JSON, or not an object.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError("malformed body: not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError(f"malformed body: not JSON ({exc.msg} at line {exc.lineno} "
                           f"column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise PayloadError(f"malformed body: expected a JSON object, got {_kind(data)}")
    return data


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _int(data: Mapping[str, Any], key: str, where: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        raise PayloadError(f"malformed body: {where}{key} is missing; expected an integer id"
                           if value is None else
                           f"malformed body: {where}{key} must be an integer, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    else:
        raise PayloadError(f"malformed body: {where}{key} must be an integer, got {_kind(value)}")
    if number < 1 and key != "timecompleted":
        raise PayloadError(f"malformed body: {where}{key} must be a positive id, got {number}")
    return number


def _time(data: Mapping[str, Any], key: str, where: str) -> datetime:
    value = data.get(key)
    if isinstance(value, str) and not value.strip().isdigit():
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise PayloadError(f"malformed body: {where}{key} {value[:40]!r} is not a time; "
                               "expected Unix seconds or ISO 8601 with a UTC offset") from exc
        if parsed.tzinfo is None:
            raise PayloadError(f"malformed body: {where}{key} has no UTC offset")
        return parsed.astimezone(UTC)
    seconds = _int(data, key, where)
    if seconds <= 0:
        raise PayloadError(f"malformed body: {where}{key} must be a time after 1970, "
                           f"got {seconds}")
    return datetime.fromtimestamp(seconds, UTC)


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def sidecar_event(data: dict[str, Any], msg_id: str) -> IncomingEvent:
    """lms-sidecar's own schema: ``{"type", "timestamp", "data": {...}}`` (webhooks/README.md).

    Raises:
        PayloadError: ``type`` or, for a completion, a field of ``data`` is missing or wrong.
    """
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise PayloadError("malformed body: type is missing; expected e.g. \"course.completed\"")
    if kind != SIDECAR_COMPLETED:
        return IncomingEvent(source="sidecar", event_type=kind, event_id=msg_id, payload=data)
    inner = data.get("data")
    if not isinstance(inner, dict):
        raise PayloadError("malformed body: data is missing; expected an object with courseid, "
                           "userid and timecompleted")
    return IncomingEvent(
        source="sidecar", event_type=COURSE_COMPLETED, event_id=msg_id,
        courseid=_int(inner, "courseid", "data."), userid=_int(inner, "userid", "data."),
        completed_at=_time(inner, "timecompleted", "data."), payload=data)


def totara_event(data: dict[str, Any]) -> IncomingEvent:
    """A Totara 19 delivery ``{attempt, body, event, time_created, time_sent, webhook_id}``.

    The event id is derived from what stays the same across Totara's retries (``attempt`` and
    ``time_sent`` change).

    Raises:
        PayloadError: ``event`` or, for a completion, a field of ``body`` is missing or wrong.
    """
    kind = data.get("event")
    if not isinstance(kind, str) or not kind:
        raise PayloadError("malformed body: event is missing; expected an event class name "
                           "such as \\core\\event\\course_completed")
    inner = data.get("body")
    event_id = _digest(data.get("webhook_id"), kind, data.get("time_created"), inner)
    if _event_name(kind) != MOODLE_COMPLETED:
        return IncomingEvent(source="totara", event_type=kind, event_id=event_id, payload=data)
    if not isinstance(inner, dict):
        raise PayloadError("malformed body: body is missing; expected the course_completions "
                           "record (userid, course, timecompleted)")
    return IncomingEvent(
        source="totara", event_type=COURSE_COMPLETED, event_id=event_id,
        courseid=_int(inner, "course", "body."), userid=_int(inner, "userid", "body."),
        completed_at=_time(inner, "timecompleted", "body."), payload=data)


def _event_name(name: str) -> str:
    return "\\" + name.strip().lstrip("\\")


def moodle_event(data: Mapping[str, Any], source: str) -> IncomingEvent:
    """Moodle event data as local_webhooks or tool_trigger post it.

    A course completion names the learner in ``relateduserid`` (``userid`` is whoever caused
    it) and carries no completion time: the event's ``timecreated`` stands in for it (the
    inbox's dedupe window absorbs the difference from polling). ``token`` is dropped.

    Raises:
        PayloadError: ``eventname`` or, for a completion, a field is missing or wrong.
    """
    kept = {key: value for key, value in data.items() if key not in SECRET_FIELDS}
    kind = kept.get("eventname")
    if not isinstance(kind, str) or not kind:
        raise PayloadError("malformed body: eventname is missing; expected Moodle event data "
                           "such as \\core\\event\\course_completed")
    event_id = _digest(kind, kept.get("objectid"), kept.get("courseid"),
                       kept.get("relateduserid"), kept.get("timecreated"))
    if _event_name(kind) != MOODLE_COMPLETED:
        return IncomingEvent(source=source, event_type=kind, event_id=event_id, payload=kept)
    return IncomingEvent(
        source=source, event_type=COURSE_COMPLETED, event_id=event_id,
        courseid=_int(kept, "courseid", ""), userid=_int(kept, "relateduserid", ""),
        completed_at=_time(kept, "timecreated", ""), payload=kept)
