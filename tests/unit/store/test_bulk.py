"""store.bulk.Bulk writes exactly what SQLAlchemy's own executemany writes, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Engine, Table, bindparam, case, insert, select, text, update

import store
from store.bulk import Bulk
from store.models import FollowupSequence, FollowupTask

TASKS = cast(Table, FollowupTask.__table__)
NOW = datetime(2026, 11, 4, 12, 0, 0, 0, tzinfo=UTC)
COLUMNS = ("sequence_id", "learner_id", "task_index", "attempt", "text", "clientmsgid",
           "due_at", "status", "sends")


@pytest.fixture
def engine(store_url: str) -> Any:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(FollowupSequence), [
            {"id": n, "site": "https://lms.example", "learner_id": 100 + n,
             "learner_name": f"L {n}", "learner_firstname": "L", "learner_timezone": None,
             "course_id": 1, "course_shortname": "C1", "course_name": "Course",
             "competency": None, "competency_id": None, "competency_name": "",
             "plan_id": "p", "state": "active", "completed_at": NOW, "card": None}
            for n in (1, 2, 3, 4)])
    yield engine
    engine.dispose()


def _task(sequence: int, due: datetime) -> tuple[object, ...]:
    return (sequence, 100 + sequence, 0, 0, "Practise, «SBI» 100%", f"m-{sequence}", due,
            "scheduled", 0)


def _raw(engine: Engine, sequence_ids: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """The stored rows as the database keeps them (SQLite: the text of each timestamp)."""
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT sequence_id, learner_id, task_index, attempt, text, clientmsgid, due_at, "
            "status, sends, sent_at, msgid, error FROM followup_tasks "
            "WHERE sequence_id IN (" + ", ".join(str(i) for i in sequence_ids) + ") "
            "ORDER BY sequence_id"))
        return [tuple(row) for row in rows]


def test_insert_stores_what_sqlalchemy_stores(engine: Engine) -> None:
    due = NOW + timedelta(days=2, microseconds=1500)
    with engine.begin() as connection:
        # one time with microseconds, one without (SQLite's text keeps ".000000")
        connection.execute(insert(FollowupTask), [
            dict(zip(COLUMNS, _task(n, due if n % 2 else NOW), strict=True)) for n in (1, 2)])
        Bulk(insert(TASKS), row=COLUMNS).run(connection, [_task(n, due if n % 2 else NOW)
                                                          for n in (3, 4)])
    theirs, ours = _raw(engine, (1, 2)), _raw(engine, (3, 4))
    # the same values in the same stored form (timestamps as SQLAlchemy's text on SQLite);
    # only the sequence, learner and message id differ, as given
    assert [row[2:5] + row[6:] for row in ours] == [row[2:5] + row[6:] for row in theirs]
    assert [row[:2] + row[5:6] for row in ours] == [(3, 103, "m-3"), (4, 104, "m-4")]
    with store.session_scope(store.session_factory(engine)) as session:
        made = session.scalars(select(FollowupTask).order_by(FollowupTask.id)).all()
        # the column default (created_at) is filled once per call, as an aware UTC time
        assert made[2].created_at == made[3].created_at
        assert made[2].created_at.tzinfo is not None
        assert (made[2].due_at, made[3].due_at) == (due, NOW)


def test_update_with_shared_value_and_statement_constants(engine: Engine) -> None:
    with engine.begin() as connection:
        Bulk(insert(TASKS), row=COLUMNS).run(connection, [_task(n, NOW) for n in (1, 2, 3)])
        connection.execute(update(TASKS).where(TASKS.c.sequence_id == 2).values(
            status="answered"))
        marks = Bulk(update(TASKS).where(TASKS.c.sequence_id == bindparam("b_seq")).values(
            status=case((TASKS.c.status == "scheduled", "sent"), else_=TASKS.c.status),
            msgid=bindparam("b_msgid"), sent_at=bindparam("b_now"), error=None),
            row=("b_seq", "b_msgid"), shared=("b_now",))
        marks.run(connection, [(1, 501), (2, 502)], b_now=NOW + timedelta(hours=1))
    with store.session_scope(store.session_factory(engine)) as session:
        tasks = {t.sequence_id: t for t in session.scalars(select(FollowupTask))}
    assert (tasks[1].status, tasks[1].msgid, tasks[1].sent_at) == (
        "sent", 501, NOW + timedelta(hours=1))
    assert (tasks[2].status, tasks[2].msgid) == ("answered", 502)  # the CASE kept it
    assert (tasks[3].status, tasks[3].msgid, tasks[3].sent_at) == ("scheduled", None, None)


def test_wrong_rows_and_values_are_refused_before_anything_is_written(engine: Engine) -> None:
    bulk = Bulk(insert(TASKS), row=COLUMNS)
    with engine.begin() as connection:
        with pytest.raises(ValueError, match="a row of 2 values; expected 9"):
            bulk.run(connection, [_task(1, NOW), (1, 2)])
        marks = Bulk(update(TASKS).where(TASKS.c.id == bindparam("b_id")).values(
            sent_at=bindparam("b_now")), row=("b_id",), shared=("b_now",))
        with pytest.raises(ValueError, match=r"shared values: expected \['b_now'\]"):
            marks.run(connection, [(1,)])
        with pytest.raises(ValueError, match="neither row nor shared"):
            Bulk(update(TASKS).where(TASKS.c.id == bindparam("b_id")).values(
                sent_at=bindparam("b_when")), row=("b_id",)).run(connection, [(1,)])
        with pytest.raises(ValueError, match="neither row nor shared"):  # would be frozen
            Bulk(update(TASKS).where(TASKS.c.id == bindparam("b_id")).values(
                sends=bindparam("b_n", callable_=lambda: 1)), row=("b_id",)).run(
                connection, [(1,)])
    assert _raw(engine, (1, 2, 3, 4)) == []


def test_no_rows_writes_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        Bulk(insert(TASKS), row=COLUMNS).run(connection, [])
    assert _raw(engine, (1, 2, 3, 4)) == []


def test_repeated_and_unhashable_values_are_each_stored_right(engine: Engine) -> None:
    sequences = cast(Table, FollowupSequence.__table__)
    cards = Bulk(update(sequences).where(sequences.c.id == bindparam("b_id")).values(
        card=bindparam("b_card"), completed_at=bindparam("b_at")), row=("b_id", "b_card", "b_at"))
    later = NOW + timedelta(days=1)
    with engine.begin() as connection:
        # JSON cards (unhashable dicts) and one time repeated, one time different
        cards.run(connection, [(1, {"due": "a"}, later), (2, {"due": "b"}, later),
                               (3, None, NOW)])
    with store.session_scope(store.session_factory(engine)) as session:
        rows = list(session.scalars(select(FollowupSequence)))
    found = {s.id: (s.card, s.completed_at) for s in rows}
    # the table's onupdate column (updated_at) is filled, once for the call
    assert len({s.updated_at for s in rows if s.id in (1, 2, 3)}) == 1
    assert all(s.updated_at is not None for s in rows)
    assert found[1] == ({"due": "a"}, later)
    assert found[2] == ({"due": "b"}, later)
    assert found[3] == (None, NOW)
