"""Reconciliation against the sandbox: a completion no webhook announced is found, by the
Report builder report and by per-learner polling, and one already received is not repeated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import select

import store
from config.webhooks import WebhookSettings
from store.models import InboxEvent
from webhooks.inbox import COURSE_COMPLETED, IncomingEvent, record_event
from webhooks.reconcile import parse_display_time, reconcile

pytestmark = pytest.mark.integration


def complete_a_learner(sandbox) -> tuple[int, int, datetime]:
    """A learner marks themself complete with their own token; Moodle's cron records it."""
    with sandbox.state.transaction() as db:
        row = db.one(
            "SELECT cc.userid, cc.course, u.username FROM course_completions cc "
            "JOIN user u ON u.id = cc.userid WHERE cc.timecompleted IS NULL AND cc.course IN "
            "(SELECT course FROM course_completion_criteria WHERE criteriatype = 1) "
            "ORDER BY cc.course, cc.userid LIMIT 1")
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    requests.post(f"{sandbox.url}/_sandbox/completion-criteria", json={"courseid": row["course"]},
                  headers=admin, timeout=10).raise_for_status()
    token = requests.post(f"{sandbox.url}/_sandbox/tokens", json={"username": row["username"]},
                          headers=admin, timeout=10).json()["token"]
    marked = requests.post(sandbox.rest_url, data={
        "wstoken": token, "wsfunction": "core_completion_mark_course_self_completed",
        "moodlewsrestformat": "json", "courseid": row["course"]}, timeout=10).json()
    assert marked == {"status": True, "warnings": []}
    cron = requests.post(f"{sandbox.url}/_sandbox/cron", headers=admin, timeout=10).json()
    assert cron["completions"] >= 1
    return row["course"], row["userid"], datetime.fromtimestamp(sandbox.state.clock.now(), UTC)


def inbox(engine) -> list[InboxEvent]:
    with store.session_scope(store.session_factory(engine)) as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def report_settings(**extra) -> WebhookSettings:
    return WebhookSettings(report={"id": 1, "timezone": "Europe/London"}, **extra)


def test_report_finds_the_completion_the_webhook_missed(sandbox, client, engine) -> None:
    course, user, _ = complete_a_learner(sandbox)
    now = datetime.fromtimestamp(sandbox.state.clock.now(), UTC)

    found = reconcile(client, engine, report_settings(), [course], now=now)

    assert [(c, u) for c, u, _ in found.new] == [(course, user)]
    # the report's pages, one course list, one user lookup: not one call per learner
    with sandbox.state.transaction() as db:
        enrolments = db.scalar("SELECT COUNT(*) FROM user_enrolments")
    pages = -(-enrolments // report_settings().report.perpage)
    assert found.api_calls == pages + 2
    [row] = [r for r in inbox(engine) if r.status == "new"]
    assert (row.source, row.course_id, row.user_id) == ("poll", course, user)

    again = reconcile(client, engine, report_settings(), [course], now=now)
    assert again.new == [] and again.duplicates == 1


def test_a_completion_already_received_is_not_repeated(sandbox, client, engine) -> None:
    course, user, at = complete_a_learner(sandbox)
    with store.session_scope(store.session_factory(engine)) as session:
        record_event(session, IncomingEvent(source="moodle", event_type=COURSE_COMPLETED,
                                            event_id="e1", courseid=course, userid=user,
                                            completed_at=at))
    found = reconcile(client, engine, report_settings(), [course], now=at)

    assert found.new == [] and found.duplicates == 1
    assert len([r for r in inbox(engine) if r.course_id == course and r.user_id == user]) == 1


def test_polling_each_learner_without_a_report(sandbox, client, engine) -> None:
    course, user, _ = complete_a_learner(sandbox)
    now = datetime.fromtimestamp(sandbox.state.clock.now(), UTC)
    settings = WebhookSettings()

    first = reconcile(client, engine, settings, [course], now=now)
    assert (course, user) in [(c, u) for c, u, _ in first.new]
    assert len(first.new) == 1  # the seeded completions are older than the lookback
    second = reconcile(client, engine, settings, [course], now=now)

    # Learners known to have completed are not asked about again.
    assert second.new == []
    assert second.api_calls < first.api_calls


def test_nothing_to_do_without_mapped_courses(client, engine) -> None:
    found = reconcile(client, engine, report_settings(), [])
    assert found.api_calls == 0 and found.new == []


def test_report_times_are_read_in_the_sites_time_zone() -> None:
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    assert parse_display_time("Sunday, 22 November 2026, 1:34 AM", london) == datetime(
        2026, 11, 22, 1, 34, tzinfo=UTC)
    assert parse_display_time("Monday, 1 June 2026, 12:05 PM", london) == datetime(
        2026, 6, 1, 11, 5, tzinfo=UTC)
    from webhooks.errors import ReconcileError

    with pytest.raises(ReconcileError, match="English"):
        parse_display_time("Sonntag, 22. November 2026, 01:34", london)
