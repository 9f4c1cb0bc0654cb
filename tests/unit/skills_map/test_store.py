"""Suggestions and the audit log in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

import store


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


def save(session, score: float = 0.4, competency: str = "C1") -> store.MapSuggestion:
    return store.save_suggestion(
        session, site="s", course="COURSE", course_id=1, framework="FW",
        competency=competency, competency_id=2, competency_name="name", score=score,
        evidence=["word"], method="tfidf")


def test_the_audit_log_refuses_updates_and_deletes(engine: Engine):
    sessions = store.session_factory(engine)
    with store.session_scope(sessions) as session:
        store.append_audit(session, site="s", actor="ana", action="suggestion.accepted",
                           subject="COURSE -> FW/C1", suggestion_id=1, score=0.4)
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with store.session_scope(sessions) as session:
        [entry] = store.audit_entries(session)
        assert entry.actor == "ana"


def test_audit_entries_since_a_time(engine: Engine):
    sessions = store.session_factory(engine)
    with store.session_scope(sessions) as session:
        store.append_audit(session, site="s", actor="a", action="x", subject="one")
    with store.session_scope(sessions) as session:
        assert len(store.audit_entries(session, since=datetime.now(UTC) - timedelta(hours=1))) == 1
        assert store.audit_entries(session, since=datetime.now(UTC) + timedelta(hours=1)) == []
        assert store.audit_entries(session, site="other") == []


def test_a_decided_suggestion_keeps_its_decision_when_suggested_again(engine: Engine):
    sessions = store.session_factory(engine)
    with store.session_scope(sessions) as session:
        row = save(session)
        store.decide_suggestion(session, row, "rejected", actor="ana")
    with store.session_scope(sessions) as session:
        again = save(session, score=0.9)
        assert (again.status, again.score, again.decided_by) == ("rejected", 0.4, "ana")
        pending = save(session, score=0.3, competency="C2")
        save(session, score=0.35, competency="C2")
        assert [r.score for r in store.list_suggestions(session, "s", "pending")] == [0.35]
        assert pending.status == "pending"
