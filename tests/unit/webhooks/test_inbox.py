"""The inbox: deduplication across sources, claiming (racing on PostgreSQL), final statuses."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import store
from store.models import InboxEvent, InboxStatus
from webhooks.errors import InboxError
from webhooks.inbox import (
    COURSE_COMPLETED,
    IncomingEvent,
    bounded_payload,
    claim_new_completions,
    completion_key,
    get_watermark,
    learners_with_completion,
    mark_processed,
    recent_events,
    record_event,
    set_watermark,
)

T0 = datetime(2026, 11, 22, 1, 34, 12, tzinfo=UTC)


def completion(source: str = "sidecar", event_id: str | None = "evt-1", course: int = 8,
               user: int = 55, at: datetime = T0) -> IncomingEvent:
    return IncomingEvent(source=source, event_type=COURSE_COMPLETED, event_id=event_id,
                         courseid=course, userid=user, completed_at=at, payload={"n": 1})


def record(sessions: sessionmaker[Session], event: IncomingEvent, **kwargs):
    with store.session_scope(sessions) as session:
        return record_event(session, event, **kwargs)


def rows(sessions: sessionmaker[Session]) -> list[InboxEvent]:
    with store.session_scope(sessions) as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def test_a_completion_is_stored_as_new(sessions) -> None:
    recorded = record(sessions, completion())

    assert recorded.created and recorded.status == "new"
    [row] = rows(sessions)
    assert (row.source, row.event_id, row.course_id, row.user_id) == ("sidecar", "evt-1", 8, 55)
    assert row.completed_at == T0
    assert row.dedupe_key == completion_key(8, 55, T0)
    assert row.payload == {"n": 1}


def test_the_same_id_twice_creates_one_row(sessions) -> None:
    first = record(sessions, completion())
    again = record(sessions, completion())

    assert not again.created and again.inbox_id == first.inbox_id
    assert len(rows(sessions)) == 1


def test_the_same_completion_from_another_source_is_a_duplicate(sessions) -> None:
    first = record(sessions, completion(source="totara", event_id="77"))
    # Polling finds it with the time rounded to the minute, Moodle's event an hour later.
    polled = record(sessions, completion(source="poll", event_id=None,
                                         at=T0.replace(second=0)))
    moodle = record(sessions, completion(source="moodle", event_id=None,
                                         at=T0 + timedelta(hours=1)))

    assert not polled.created and not moodle.created
    assert polled.inbox_id == moodle.inbox_id == first.inbox_id
    assert len(rows(sessions)) == 1


def test_a_later_completion_of_the_same_course_is_a_new_one(sessions) -> None:
    record(sessions, completion())
    again = record(sessions, completion(event_id="evt-2", at=T0 + timedelta(days=90)))

    assert again.created
    assert len(rows(sessions)) == 2


def test_other_learners_and_courses_are_separate(sessions) -> None:
    record(sessions, completion())
    assert record(sessions, completion(event_id="b", user=56)).created
    assert record(sessions, completion(event_id="c", course=9)).created


def test_an_unknown_event_is_stored_as_ignored_once(sessions) -> None:
    event = IncomingEvent(source="totara", event_type="core\\event\\user_created",
                          event_id="9", payload={"x": 1})
    first = record(sessions, event)
    again = record(sessions, event)

    assert first.created and first.status == "ignored"
    assert not again.created
    [row] = rows(sessions)
    assert row.processed_at is not None
    assert "user_created" in (row.detail or "")


def test_events_without_ids_are_told_apart_by_payload(sessions) -> None:
    a = IncomingEvent(source="moodle", event_type="x", payload={"a": 1})
    b = IncomingEvent(source="moodle", event_type="x", payload={"a": 2})
    assert record(sessions, a).created
    assert record(sessions, b).created
    assert not record(sessions, a).created


def test_large_payloads_are_kept_as_a_digest() -> None:
    small = bounded_payload({"a": "x"})
    large = bounded_payload({"a": "x" * 50_000})

    assert small == {"a": "x"}
    assert large["truncated"] is True and len(large["sha256"]) == 64


def test_claim_hands_out_each_completion_once(sessions) -> None:
    for user in (1, 2, 3):
        record(sessions, completion(event_id=f"e{user}", user=user))
    record(sessions, IncomingEvent(source="sidecar", event_type="other", event_id="o"))

    with store.session_scope(sessions) as session:
        first = claim_new_completions(session, 2)
    with store.session_scope(sessions) as session:
        second = claim_new_completions(session, 10)
    with store.session_scope(sessions) as session:
        third = claim_new_completions(session, 10)

    assert [e.userid for e in first] == [1, 2]
    assert [e.userid for e in second] == [3]
    assert third == []
    assert first[0].courseid == 8 and first[0].completed_at == T0
    assert first[0].source == "sidecar"


def test_a_claim_whose_worker_died_is_handed_out_again(sessions) -> None:
    record(sessions, completion())
    with store.session_scope(sessions) as session:
        [event] = claim_new_completions(session, 5)
    later = datetime.now(UTC) + timedelta(hours=1)
    with store.session_scope(sessions) as session:
        assert claim_new_completions(session, 5) == []
        assert [e.inbox_id for e in claim_new_completions(session, 5, now=later)] == [
            event.inbox_id]


def test_a_claim_rolled_back_is_not_lost(sessions) -> None:
    record(sessions, completion())
    with pytest.raises(RuntimeError), store.session_scope(sessions) as session:
        claim_new_completions(session, 5)
        raise RuntimeError("worker crashed before commit")
    with store.session_scope(sessions) as session:
        assert len(claim_new_completions(session, 5)) == 1


def test_mark_processed_finishes_a_row(sessions) -> None:
    record(sessions, completion())
    with store.session_scope(sessions) as session:
        [event] = claim_new_completions(session, 1)
    with store.session_scope(sessions) as session:
        mark_processed(session, event.inbox_id, "processed", "3 follow-ups scheduled")

    [row] = rows(sessions)
    assert row.status == InboxStatus.PROCESSED.value
    assert row.detail == "3 follow-ups scheduled" and row.processed_at is not None
    with store.session_scope(sessions) as session:
        assert claim_new_completions(session, 5) == []


@pytest.mark.parametrize("status", ["new", "claimed", "done"])
def test_mark_processed_refuses_statuses_that_are_not_final(sessions, status: str) -> None:
    record(sessions, completion())
    with pytest.raises(InboxError, match="processed, ignored, failed"), \
            store.session_scope(sessions) as session:
        mark_processed(session, 1, status)


def test_mark_processed_names_a_missing_row(sessions) -> None:
    with pytest.raises(InboxError, match="no inbox event with id 404"), \
            store.session_scope(sessions) as session:
        mark_processed(session, 404, InboxStatus.FAILED)


def test_recent_events_and_learners_with_completion(sessions) -> None:
    record(sessions, completion(event_id="a", user=1))
    record(sessions, completion(event_id="b", user=2))
    record(sessions, IncomingEvent(source="sidecar", event_type="other", event_id="o"))
    with store.session_scope(sessions) as session:
        assert [r.event_id for r in recent_events(session, 2)] == ["o", "b"]
        assert [r.event_id for r in recent_events(session, statuses=["ignored"])] == ["o"]
        assert learners_with_completion(session, 8) == {1, 2}
        assert learners_with_completion(session, 9) == set()


def test_watermarks_only_move_forward(sessions) -> None:
    with store.session_scope(sessions) as session:
        assert get_watermark(session, "report:4") is None
        set_watermark(session, "report:4", T0)
    with store.session_scope(sessions) as session:
        set_watermark(session, "report:4", T0 - timedelta(days=1))
    with store.session_scope(sessions) as session:
        assert get_watermark(session, "report:4") == T0


@pytest.mark.postgres
def test_two_sessions_racing_on_postgresql_claim_disjoint_rows(pg_url: str) -> None:
    from tests.conftest import _empty_pg_schema

    _empty_pg_schema(pg_url)
    engine: Engine = store.create_engine(pg_url, pool_size=4)
    try:
        store.migrate(engine)
        sessions = store.session_factory(engine)
        for user in range(40):
            record(sessions, completion(event_id=f"e{user}", user=user))
        claimed: list[list[int]] = [[], []]
        barrier = threading.Barrier(2)

        def worker(slot: int) -> None:
            with store.session_scope(sessions) as session:
                barrier.wait()
                events = claim_new_completions(session, 15)
                barrier.wait()  # both hold their locks at once
                claimed[slot] = [e.inbox_id for e in events]

        threads = [threading.Thread(target=worker, args=(slot,)) for slot in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert len(claimed[0]) == len(claimed[1]) == 15
        assert not set(claimed[0]) & set(claimed[1])
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_concurrent_duplicate_deliveries_on_postgresql_create_one_row(pg_url: str) -> None:
    from tests.conftest import _empty_pg_schema

    _empty_pg_schema(pg_url)
    engine = store.create_engine(pg_url, pool_size=8)
    try:
        store.migrate(engine)
        sessions = store.session_factory(engine)
        barrier = threading.Barrier(6)
        results = []

        def deliver(n: int) -> None:
            barrier.wait()
            # Six sources, six different times within the window: one completion.
            results.append(record(sessions, completion(source=f"s{n}", event_id=None,
                                                       at=T0 + timedelta(minutes=n))))

        threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert sum(r.created for r in results) == 1
        assert len(rows(sessions)) == 1
    finally:
        engine.dispose()
