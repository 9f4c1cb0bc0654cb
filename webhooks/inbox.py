"""The inbox: every event received or found, committed before the sender gets its 2xx.

This is the interface between completion events in (the receiver, reconciliation) and the
follow-up work out: the outbound side calls :func:`claim_new_completions` for
:class:`CompletionEvent` values and reports back with :func:`mark_processed`.

Every function takes the caller's ``Session`` and never commits: the caller's
``store.session_scope`` decides. Deduplication is source-independent: one completion is one row
whether it came by Standard Webhooks, Totara, Moodle's local_webhooks, tool_trigger or polling.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Integer,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Executable

from store.db import StoreError
from store.models import InboxEvent, InboxStatus, Watermark, utcnow
from webhooks.errors import InboxError

#: The event type every source's course completion is normalised to.
COURSE_COMPLETED = "course_completed"
#: Two completions of one course by one learner this close together are one completion: the
#: paths disagree on the time (Moodle's event carries when the cron ran, polling when the last
#: criterion was met, the report rounds to the minute).
DEFAULT_DEDUPE_WINDOW = timedelta(hours=24)
#: A claim not finished within this time (the worker died) is handed out again.
DEFAULT_CLAIM_LEASE = timedelta(minutes=15)
#: Largest stored payload (JSON characters); a larger one is kept as its size and digest only.
MAX_STORED_PAYLOAD = 16_384
FINAL_STATUSES = (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.FAILED)


@dataclass(frozen=True)
class CompletionEvent:
    """A learner completed a course: what the outbound side schedules follow-ups from.

    ``userid`` and ``courseid`` are the LMS's ids; ``completed_at`` is timezone-aware UTC.
    """

    inbox_id: int
    source: str
    userid: int
    courseid: int
    completed_at: datetime


@dataclass(frozen=True)
class IncomingEvent:
    """An event as a source delivered it, normalised; not stored yet.

    A completion has ``event_type == COURSE_COMPLETED`` and all of ``courseid``, ``userid`` and
    ``completed_at``; anything else is recorded as ignored.
    """

    source: str
    event_type: str
    event_id: str | None = None
    courseid: int | None = None
    userid: int | None = None
    completed_at: datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_completion(self) -> bool:
        return (self.event_type == COURSE_COMPLETED and self.courseid is not None
                and self.userid is not None and self.completed_at is not None)


@dataclass(frozen=True)
class Recorded:
    """What recording an event did: its inbox row, and whether that row is new."""

    inbox_id: int
    created: bool
    status: str


def completion_key(courseid: int, userid: int, completed_at: datetime) -> str:
    """The dedupe key of a completion: course, learner, and the minute it happened (UTC)."""
    minute = int(completed_at.timestamp()) // 60 * 60
    return f"completion:{courseid}:{userid}:{minute}"


def _other_key(event: IncomingEvent) -> str:
    if event.event_id:
        ident = event.event_id
    else:
        text = json.dumps(event.payload, sort_keys=True, default=str)
        ident = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return f"event:{event.source}:{ident}"[:255]


def bounded_payload(payload: Mapping[str, Any], limit: int = MAX_STORED_PAYLOAD) -> dict[str, Any]:
    """``payload`` as stored: itself when its JSON is at most ``limit`` characters, else a stub
    with its size and SHA-256 (the inbox must not grow by whatever a sender posts)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    if len(text) <= limit:
        loaded: dict[str, Any] = json.loads(text)
        return loaded
    return {"truncated": True, "chars": len(text),
            "sha256": hashlib.sha256(text.encode()).hexdigest()}


@dataclass(frozen=True)
class Prepared:
    """An event made ready to store, before any transaction: its dedupe key, its row, and
    on SQLite the INSERT's parameters as the driver takes them (see :func:`prepare_event`)."""

    event: IncomingEvent
    key: str
    status: str
    window: timedelta
    values: dict[str, Any]
    driver: tuple[Any, ...] | None = None
    dialect: Dialect | None = None  # the SQLite dialect ``driver`` was made for


def prepare_event(
    event: IncomingEvent,
    *,
    now: datetime | None = None,
    window: timedelta = DEFAULT_DEDUPE_WINDOW,
    status: InboxStatus | None = None,
    detail: str | None = None,
    dialect: Dialect | None = None,
) -> Prepared:
    """Everything :func:`record_prepared` needs that does not read the database: the dedupe
    key, the status, the row (payload bounded) and, for an SQLite ``dialect``, the statement's
    parameters converted by their column types (JSON, timestamps) exactly as SQLAlchemy would.
    The receiver prepares before it takes the SQLite writer turn, so the turn (which every
    webhook of every worker waits for) holds only the database's work."""
    now = now or utcnow()
    near: dict[str, Any] = {"near_course": None, "near_user": None, "near_from": None,
                            "near_to": None}
    if event.is_completion:
        assert event.courseid is not None and event.userid is not None
        assert event.completed_at is not None
        key = completion_key(event.courseid, event.userid, event.completed_at)
        near = {"near_course": event.courseid, "near_user": event.userid,
                "near_from": event.completed_at - window, "near_to": event.completed_at + window}
        chosen = status or InboxStatus.NEW
    else:
        key = _other_key(event)
        chosen = status or InboxStatus.IGNORED
        detail = detail or f"event type {event.event_type!r} is not handled"
    payload, payload_text = _bounded(event.payload)
    values: dict[str, Any] = {
        "source": event.source, "event_id": event.event_id, "dedupe_key": key,
        "event_type": event.event_type[:255], "course_id": event.courseid,
        "user_id": event.userid, "completed_at": event.completed_at, "received_at": now,
        "status": chosen.value, "detail": detail, "payload": payload,
        "processed_at": now if chosen in FINAL_STATUSES else None, "claimed_at": None,
        **near,
    }
    driver = None
    if dialect is not None and dialect.name != "sqlite":
        dialect = None
    if dialect is not None:
        # the JSON column's bind processor would serialise the payload again: json.dumps of
        # what json.loads made of payload_text, which gives payload_text back (sorted keys,
        # the default separators, JSON-native values); a test holds them equal
        driver = _driver_parameters(_driver_statement(dialect, "insert")[1], values,
                                    {"payload": payload_text})
    return Prepared(event, key, chosen.value, window, values, driver, dialect)


def _bounded(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """:func:`bounded_payload` and its JSON text as SQLAlchemy's JSON type stores it."""
    text = json.dumps(payload, sort_keys=True, default=str)
    if len(text) <= MAX_STORED_PAYLOAD:
        loaded: dict[str, Any] = json.loads(text)
        return loaded, text
    stub = bounded_payload(payload)
    return stub, json.dumps(stub)


def _driver_parameters(plan: tuple[_Placeholder, ...], values: Mapping[str, Any],
                       processed: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
    """The positional parameters of a statement compiled by :func:`_driver_statement`, each
    value through its column type's bind processor (``processed``: values already converted)."""
    done = processed or {}
    return tuple(fixed if name is None else done[name] if name in done
                 else process(values[name]) if process else values[name]
                 for name, process, fixed in plan)


def record_event(
    session: Session | Connection,
    event: IncomingEvent,
    *,
    now: datetime | None = None,
    window: timedelta = DEFAULT_DEDUPE_WINDOW,
    status: InboxStatus | None = None,
    detail: str | None = None,
) -> Recorded:
    """Store ``event`` unless it is already in the inbox; returns its row and whether it is new.

    A completion duplicates an earlier one with the same key, the same ``(source, event_id)``, or
    the same course and learner within ``window``; anything else duplicates an earlier event of
    the same source and id (or identical payload when the source has no ids). Events that are not
    completions are stored as ignored. ``status`` and ``detail`` override the status of a new row
    (reconciliation records completions from before its window as ignored). Flushes, so the
    database's constraints are checked here; race-free on SQLite (writers serialised by
    ``BEGIN IMMEDIATE``) and PostgreSQL (a transaction lock per course and learner).

    ``session`` may be a Core ``Connection`` in a transaction (the receiver's, which needs no
    ORM unit of work): the statements are the same, run on that connection.
    """
    return record_prepared(session, prepare_event(event, now=now, window=window,
                                                  status=status, detail=detail))


def record_prepared(session: Session | Connection | sqlite3.Connection,
                    prepared: Prepared) -> Recorded:
    """:func:`record_event` for an event made ready by :func:`prepare_event`.

    ``session`` may also be an SQLite driver connection in a write transaction (the
    receiver's, from ``store.db.sqlite_write``) for an event prepared for the SQLite dialect:
    the same statements, compiled once, run on it without SQLAlchemy's execution machinery.

    Raises:
        InboxError: a driver connection given an event not prepared for SQLite.
    """
    if isinstance(session, sqlite3.Connection):
        return _record_on_driver(session, prepared)
    event = prepared.event
    connection = session.connection() if isinstance(session, Session) else session
    if event.is_completion:
        assert event.courseid is not None and event.userid is not None
        _lock_pair(session, event.courseid, event.userid)
    if prepared.driver is not None and connection.dialect.name == "sqlite":
        sql, _ = _driver_statement(connection.dialect, "insert")
        inserted = connection.exec_driver_sql(sql, prepared.driver).scalar_one_or_none()
    else:
        inserted = connection.execute(_insert_statement(connection.dialect.name),
                                      prepared.values).scalar_one_or_none()
    if inserted is not None:
        return Recorded(inserted, True, prepared.status)
    if event.is_completion:
        assert event.courseid is not None and event.userid is not None
        assert event.completed_at is not None
        found = _near_completion(session, event.courseid, event.userid,
                                 event.completed_at, prepared.window)
        if found is not None:
            return Recorded(found[0], False, found[1])
    return _existing(session, prepared.key, event)


def _record_on_driver(driver: sqlite3.Connection, prepared: Prepared) -> Recorded:
    """:func:`record_prepared` on an SQLite driver connection: the INSERT, and only when it
    stored nothing the lookups of the row it duplicates, all compiled once per process."""
    dialect = prepared.dialect
    if prepared.driver is None or dialect is None:
        raise InboxError("an event stored on an SQLite connection must be prepared for SQLite")
    inserted = driver.execute(_driver_statement(dialect, "insert")[0], prepared.driver).fetchone()
    if inserted is not None:
        return Recorded(inserted[0], True, prepared.status)
    event = prepared.event
    if event.is_completion:
        sql, plan = _driver_statement(dialect, "near")
        found = driver.execute(sql, _driver_parameters(plan, prepared.values)).fetchone()
        if found is not None:
            return Recorded(found[0], False, found[1])
    sql, plan = _driver_statement(dialect, "existing" if event.event_id is not None
                                  else "existing_key")
    row = driver.execute(sql, _driver_parameters(plan, prepared.values)).fetchone()
    if row is None:  # pragma: no cover - the conflicting row cannot vanish inside the transaction
        raise InboxError(f"event {event.event_id or prepared.key} conflicted with a row that "
                         "is gone")
    return Recorded(row[0], False, row[1])


_Placeholder = tuple[str | None, Any, Any]  # a value's name and bind processor, or a constant


@functools.cache
def _driver_statement(dialect: Dialect, kind: str) -> tuple[str, tuple[_Placeholder, ...]]:
    """A statement of the inbox compiled once for the SQLite ``dialect`` (``kind``: "insert",
    :func:`_insert_statement`; "near", :func:`_near_statement`; "existing" and
    "existing_key", :func:`_existing_statement` with and without the event id), and per
    positional placeholder either the value's name with its type's bind processor (what
    SQLAlchemy applies when it executes the statement) or the statement's own constant
    (e.g. the event type compared with), processed once."""
    statement = (_insert_statement(dialect.name) if kind == "insert"
                 else _near_statement() if kind == "near"
                 else _existing_statement(by_id=kind == "existing"))
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = compiled.positiontup
    if names is None:  # pragma: no cover - SQLite's parameters are positional
        raise StoreError("the SQLite dialect's parameters are not positional")
    values = {c.name for c in InboxEvent.__table__.columns} | {
        "near_course", "near_user", "near_from", "near_to"}
    plan: list[_Placeholder] = []
    for name in names:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in values:
            plan.append((name, process, None))
        else:
            constant = bind.effective_value
            plan.append((None, None, process(constant) if process else constant))
    return compiled.string, tuple(plan)


@functools.cache
def _insert_statement(dialect: str) -> Executable:
    """The one statement that stores an event: INSERT ... SELECT the values unless a completion
    of the same course and learner lies within the window (the ``near_*`` parameters, all
    null for other events), and unless the dedupe key or (source, event id) is taken.

    Built once per dialect and executed with parameters, so a webhook costs one round trip
    and no statement building or compiling (the compiled form is cached by SQLAlchemy).
    """
    table = InboxEvent.__table__
    columns = [c for c in table.columns if c.name != "id"]

    def param(name: str, type_: Any) -> Any:
        # PostgreSQL infers no type for a bare parameter in a select list or IS NULL
        value = bindparam(name, type_=type_)
        return cast(value, type_) if dialect == "postgresql" else value

    near = aliased(InboxEvent, name="near")
    nearby = (select(literal(1)).select_from(near)
              .where(near.course_id == bindparam("near_course", type_=Integer),
                     near.user_id == bindparam("near_user", type_=Integer),
                     near.event_type == COURSE_COMPLETED,
                     near.completed_at.between(
                         bindparam("near_from", type_=table.c.completed_at.type),
                         bindparam("near_to", type_=table.c.completed_at.type))))
    chosen = (select(*[param(c.name, c.type) for c in columns])
              .where(or_(param("near_course", Integer()).is_(None), ~nearby.exists())))
    module = postgresql if dialect == "postgresql" else sqlite if dialect == "sqlite" else None
    if module is None:
        raise StoreError(f"the store supports SQLite and PostgreSQL, not {dialect}")
    statement: Executable = (module.insert(table).from_select([c.name for c in columns], chosen)
                             .on_conflict_do_nothing().returning(table.c.id))
    return statement


def _near_statement() -> Executable:
    """:func:`_near_completion` with parameters (the ``near_*`` values of a prepared row)."""
    completed = InboxEvent.__table__.c.completed_at.type
    return (select(InboxEvent.id, InboxEvent.status)
            .where(InboxEvent.course_id == bindparam("near_course", type_=Integer),
                   InboxEvent.user_id == bindparam("near_user", type_=Integer),
                   InboxEvent.event_type == COURSE_COMPLETED,
                   InboxEvent.completed_at.between(bindparam("near_from", type_=completed),
                                                   bindparam("near_to", type_=completed)))
            .order_by(InboxEvent.id).limit(1))


def _existing_statement(*, by_id: bool) -> Executable:
    """:func:`_existing` with parameters (``dedupe_key``, and ``source`` and ``event_id``
    when ``by_id``)."""
    table = InboxEvent.__table__.c
    condition = InboxEvent.dedupe_key == bindparam("dedupe_key", type_=table.dedupe_key.type)
    if by_id:
        condition = or_(condition, and_(
            InboxEvent.source == bindparam("source", type_=table.source.type),
            InboxEvent.event_id == bindparam("event_id", type_=table.event_id.type)))
    return select(InboxEvent.id, InboxEvent.status).where(condition).order_by(
        InboxEvent.id).limit(1)


def _lock_pair(connection: Session | Connection, courseid: int, userid: int) -> None:
    if _dialect(connection) == "postgresql":
        digest = hashlib.sha256(f"inbox:{courseid}:{userid}".encode()).digest()
        connection.execute(select(func.pg_advisory_xact_lock(
            int.from_bytes(digest[:8], "big", signed=True))))


def _dialect(connection: Session | Connection) -> str:
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return bind.dialect.name


def _near_completion(connection: Session | Connection, courseid: int, userid: int, at: datetime,
                     window: timedelta) -> tuple[int, str] | None:
    row = connection.execute(
        select(InboxEvent.id, InboxEvent.status)
        .where(InboxEvent.course_id == courseid, InboxEvent.user_id == userid,
               InboxEvent.event_type == COURSE_COMPLETED,
               InboxEvent.completed_at.between(at - window, at + window))
        .order_by(InboxEvent.id).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


def _existing(connection: Session | Connection, key: str, event: IncomingEvent) -> Recorded:
    condition = InboxEvent.dedupe_key == key
    if event.event_id is not None:
        condition = or_(condition, and_(InboxEvent.source == event.source,
                                        InboxEvent.event_id == event.event_id))
    row = connection.execute(select(InboxEvent.id, InboxEvent.status).where(condition)
                          .order_by(InboxEvent.id).limit(1)).first()
    if row is None:  # pragma: no cover - the conflicting row cannot vanish inside the transaction
        raise InboxError(f"event {event.event_id or key} conflicted with a row that is gone")
    return Recorded(row[0], False, row[1])


def claim_new_completions(
    session: Session, limit: int, *, now: datetime | None = None,
    lease: timedelta = DEFAULT_CLAIM_LEASE,
) -> list[CompletionEvent]:
    """Claim up to ``limit`` new completions, oldest first, and return them.

    The rows are marked claimed in the caller's transaction: commit it, do the work, then call
    :func:`mark_processed` for each. A claim older than ``lease`` (its worker died) is handed out
    again. Two claimers never get the same row: PostgreSQL skips rows another transaction has
    locked (``FOR UPDATE SKIP LOCKED``), SQLite serialises writers.
    """
    if limit < 1:
        return []
    now = now or utcnow()
    statement = (
        select(InboxEvent)
        .where(InboxEvent.event_type == COURSE_COMPLETED,
               or_(InboxEvent.status == InboxStatus.NEW.value,
                   and_(InboxEvent.status == InboxStatus.CLAIMED.value,
                        InboxEvent.claimed_at < now - lease)))
        .order_by(InboxEvent.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    rows = list(session.scalars(statement))
    if not rows:
        return []
    session.execute(update(InboxEvent).where(InboxEvent.id.in_([r.id for r in rows]))
                    .values(status=InboxStatus.CLAIMED.value, claimed_at=now)
                    .execution_options(synchronize_session=False))
    session.flush()
    return [CompletionEvent(inbox_id=r.id, source=r.source, userid=r.user_id or 0,
                            courseid=r.course_id or 0, completed_at=_aware(r.completed_at))
            for r in rows]


def _aware(value: datetime | None) -> datetime:
    assert value is not None  # completions always carry their time (record_event checks)
    return value


def mark_processed(session: Session, inbox_id: int, status: InboxStatus | str,
                   detail: str | None = None, *, now: datetime | None = None) -> None:
    """Record how the work on inbox row ``inbox_id`` ended: processed, ignored or failed.

    Raises:
        InboxError: no such row, or ``status`` is not one of the three final statuses.
    """
    try:
        final = InboxStatus(status)
    except ValueError as exc:
        raise InboxError(f"status {status!r} is not one of processed, ignored, failed") from exc
    if final not in FINAL_STATUSES:
        raise InboxError(f"status {final.value!r} is not one of processed, ignored, failed")
    result = session.execute(
        update(InboxEvent).where(InboxEvent.id == inbox_id)
        .values(status=final.value, detail=detail, processed_at=now or utcnow())
        .execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 1) == 0:
        raise InboxError(f"no inbox event with id {inbox_id}")


def recent_events(session: Session, limit: int = 20,
                  statuses: Sequence[str] = ()) -> list[InboxEvent]:
    """The latest inbox rows, newest first, optionally only those of the given statuses."""
    statement = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
    if statuses:
        statement = statement.where(InboxEvent.status.in_(list(statuses)))
    return list(session.scalars(statement))


def learners_with_completion(session: Session, courseid: int) -> set[int]:
    """The learners of ``courseid`` with any completion in the inbox (polling skips them)."""
    found = session.scalars(
        select(InboxEvent.user_id).where(InboxEvent.course_id == courseid,
                                         InboxEvent.event_type == COURSE_COMPLETED)
        .distinct()).all()
    return {userid for userid in found if userid is not None}


def get_watermark(session: Session, name: str) -> datetime | None:
    """How far the job ``name`` has looked, or None before its first run."""
    return session.scalar(select(Watermark.position).where(Watermark.name == name))


def set_watermark(session: Session, name: str, position: datetime) -> None:
    """Record that the job ``name`` has looked up to ``position`` (never moves it back)."""
    current = session.get(Watermark, name, with_for_update=True)
    if current is None:
        session.add(Watermark(name=name, position=position, updated_at=utcnow()))
    elif position > current.position:
        current.position = position
    session.flush()
