"""Claiming: the claim statement finds its tasks by primary key (SQLite would otherwise walk
every scheduled task of the queue through the status index) and still claims only tasks that
are scheduled. The store runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select, update

import store
from store.models import FollowupSequence, FollowupTask
from webhooks.claim import _CLAIM, Claimed, ClaimRules, _candidates, claim_batch

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
SITE = "https://lms.example.org"


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(FollowupSequence), [
            {"id": n, "site": SITE, "learner_id": n, "learner_name": f"L {n}",
             "learner_firstname": "L", "learner_timezone": None, "course_id": 1,
             "course_shortname": "C1", "course_name": "Course", "competency": None,
             "competency_id": None, "competency_name": "", "plan_id": "p",
             "state": "active", "completed_at": NOW, "card": None} for n in range(1, 301)])
        connection.execute(insert(FollowupTask), [
            {"id": n, "sequence_id": n, "learner_id": n, "task_index": 0, "attempt": 0,
             "text": "Practise.", "clientmsgid": f"m-{n}", "status": "scheduled", "sends": 0,
             "due_at": NOW - timedelta(minutes=n)} for n in range(1, 301)])
    yield engine
    engine.dispose()


def test_the_claim_looks_tasks_up_by_primary_key_on_sqlite(tmp_path: object) -> None:
    engine = store.create_engine(f"sqlite:///{tmp_path}/plan.sqlite")
    try:
        store.migrate(engine)
        with engine.connect() as connection:
            sql = str(_CLAIM.compile(dialect=connection.dialect)).replace(
                "__[POSTCOMPILE_ids]", "?, ?, ?")  # three ids; the values do not matter
            plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql,
                                              (1,) * sql.count("?")).all()
    finally:
        engine.dispose()
    details = " ".join(str(row[-1]) for row in plan)
    assert "PRIMARY KEY" in details, details
    assert "status" not in details, details


def test_only_scheduled_tasks_are_claimed(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(update(FollowupTask).where(FollowupTask.id.in_([299, 300])).values(
            status="answered"))
    rules = ClaimRules(site=SITE, timezone="UTC", quiet=None, daily_cap=5)
    with store.session_scope(store.session_factory(engine)) as session:
        batch = claim_batch(session, rules, 100, NOW, "worker-1")
    # the oldest due first (task 300 is the oldest, but answered; so is 299)
    assert [t.id for t in batch.tasks] == list(range(199, 299))
    with store.session_scope(store.session_factory(engine)) as session:
        states = dict(session.execute(select(FollowupTask.id, FollowupTask.status)).all())
    assert {states[i] for i in range(199, 299)} == {"sending"}
    assert (states[299], states[300], states[198]) == ("answered", "answered", "scheduled")


@pytest.mark.parametrize("postgres", [False, True])
def test_a_claimed_task_is_made_from_the_first_columns_of_the_claim_row(postgres: bool) -> None:
    names = [c.name for c in _candidates(postgres).selected_columns]
    assert names[:len(Claimed._fields)] == list(Claimed._fields)
