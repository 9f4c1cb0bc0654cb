"""The inbox on an SQLite driver connection (the receiver's path): the same rows and the same
answers as through SQLAlchemy, duplicates of every kind included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

import store
from store.db import sqlite_write
from store.models import InboxStatus
from webhooks.errors import InboxError
from webhooks.inbox import (
    COURSE_COMPLETED,
    MAX_STORED_PAYLOAD,
    IncomingEvent,
    Recorded,
    prepare_event,
    record_event,
    record_prepared,
)

T0 = datetime(2026, 11, 22, 1, 34, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 6, 0, 0, 123456, tzinfo=UTC)
WINDOW = timedelta(hours=24)


def completion(event_id: str | None, course: int = 8, user: int = 55, at: datetime = T0,
               source: str = "sidecar", **payload: object) -> IncomingEvent:
    return IncomingEvent(source=source, event_type=COURSE_COMPLETED, event_id=event_id,
                         courseid=course, userid=user, completed_at=at,
                         payload={"n": 1, **payload})


#: (event, status override) in delivery order: new rows, and duplicates of each kind.
DELIVERIES: list[tuple[IncomingEvent, InboxStatus | None]] = [
    (completion("a"), None),
    (completion("a"), None),  # the same id again
    (completion("b", at=T0 + timedelta(seconds=20)), None),  # same key (the minute)
    (completion("c", at=T0 + timedelta(hours=3)), None),  # same learner within the window
    (completion("d", at=T0 + timedelta(days=3)), None),  # a later completion: new
    (completion("e", user=56, text="naïve ✓", nested={"z": [1.5, None, True], "a": -0.0}),
     None),
    (completion(None, user=57), None),  # no id
    (completion(None, user=57, at=T0 + timedelta(seconds=5)), None),  # its key again
    (completion("f", user=58, source="moodle"), InboxStatus.IGNORED),  # reconciliation
    (IncomingEvent("sidecar", "user.created", "u1", payload={"id": 5}), None),
    (IncomingEvent("sidecar", "user.created", "u1", payload={"id": 5}), None),
    (IncomingEvent("totara", "x", None, payload={"b": 2, "a": 1}), None),
    (IncomingEvent("totara", "x", None, payload={"a": 1, "b": 2}), None),  # same payload
    (IncomingEvent("sidecar", "big", "big1", payload={"pad": "y" * MAX_STORED_PAYLOAD}), None),
]


def _engine(path: Path) -> Engine:
    engine = store.create_engine(f"sqlite:///{path}")
    store.migrate(engine)
    return engine


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    """Every inbox row as SQLite holds it (timestamps and JSON as text)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(
            "SELECT * FROM inbox_events ORDER BY id")]


def test_driver_path_stores_what_sqlalchemy_stores(engines: tuple[Engine, Engine]) -> None:
    core, driver_engine = engines
    through_core: list[Recorded] = []
    through_driver: list[Recorded] = []
    for event, status in DELIVERIES:
        with core.begin() as connection:
            through_core.append(record_event(connection, event, now=NOW, window=WINDOW,
                                             status=status))
        prepared = prepare_event(event, now=NOW, window=WINDOW, status=status,
                                 dialect=driver_engine.dialect)
        assert prepared.driver is not None
        with sqlite_write(driver_engine) as driver:
            through_driver.append(record_prepared(driver, prepared))

    assert through_driver == through_core
    assert [r.created for r in through_driver] == [
        True, False, False, False, True, True, True, False, True, True, False, True, False, True]
    assert _stored(driver_engine) == _stored(core)


def test_a_driver_connection_needs_an_event_prepared_for_sqlite(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "inbox.sqlite")
    try:
        unprepared = prepare_event(completion("a"), now=NOW)  # no dialect: no driver values
        with pytest.raises(InboxError, match="prepared for SQLite"), \
                sqlite_write(engine) as driver:
            record_prepared(driver, unprepared)
        assert _stored(engine) == []
    finally:
        engine.dispose()
