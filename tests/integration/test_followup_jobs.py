"""The follow-up jobs of `sidecar serve` against the sandbox (store on SQLite and PostgreSQL):
intake and dispatch under the database lock, a due task sent once, failures logged and
recorded; and the proficiency stop rule with a rating given in the learner's plan."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import store
from config import Settings
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.sandbox import FaultConfig, faults_of
from sidecar.followup_jobs import (
    DISPATCH_JOB,
    DISPATCH_KIND,
    INTAKE_JOB,
    add_followup_jobs,
    run_followup_dispatch,
    run_followup_intake,
)
from sidecar.scheduler import start_scheduler
from store.models import FollowupSequence, FollowupTask
from sync.job import FrameworkSync
from webhooks.clock import ManualClock
from webhooks.events import COURSE_COMPLETED
from webhooks.inbox import IncomingEvent, record_event

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "examples" / "followups.yaml"
MONDAY_NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
COACH_ID = 2  # the sandbox's admin, whose token is the coach's here


class _Grade(ep.Params):
    planid: int
    competencyid: int
    grade: int


GRADE_IN_PLAN = ep.Endpoint[object]("core_competency_grade_competency_in_plan", _Grade, object)


@pytest.fixture
def job_engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


def make_settings(sandbox, store_url: str, **followups: object) -> Settings:
    values: dict[str, object] = {
        "plans_file": PLANS, "coach": {"token": sandbox.admin_token},
        "link_secret": "link-secret-for-tests", "public_url": "http://sidecar.test",
        "quiet_hours": None, "daily_cap": 5}
    values.update(followups)
    return Settings(lms={"url": sandbox.url, "token": sandbox.admin_token,  # type: ignore[arg-type]
                         "retries": {"attempts": 2, "backoff": 0.01}},
                    store={"url": store_url}, followups=values)  # type: ignore[arg-type]


def complete(engine: Engine, sandbox, shortname: str = "COMM-101",
             index: int = 0) -> tuple[int, int]:
    """Put a completion of ``shortname`` by its ``index``-th learner in the inbox."""
    with sandbox.state.transaction() as db:
        course = db.scalar("SELECT id FROM course WHERE shortname = ?", (shortname,))
        learner = db.all("SELECT userid FROM user_enrolments WHERE courseid = ? ORDER BY userid",
                         (course,))[index]["userid"]
    with store.session_scope(store.session_factory(engine)) as session:
        record_event(session, IncomingEvent(source="sidecar", event_type=COURSE_COMPLETED,
                                            event_id=f"evt-{course}-{learner}", courseid=course,
                                            userid=learner, completed_at=MONDAY_NOON),
                     now=MONDAY_NOON)
    return course, learner


def messages_to(sandbox, learner: int) -> list[dict]:
    with sandbox.state.transaction() as db:
        return db.all("SELECT m.* FROM messages m JOIN message_conversation_members mb ON "
                      "mb.conversationid = m.conversationid AND mb.userid = ? "
                      "WHERE m.useridfrom = ?", (learner, COACH_ID))


def runs(engine: Engine, kind: str) -> list[store.SyncRun]:
    with store.session_scope(store.session_factory(engine)) as session:
        found = list(session.scalars(select(store.SyncRun).where(store.SyncRun.kind == kind)
                                     .order_by(store.SyncRun.id)))
        session.expunge_all()
        return found


def test_the_jobs_schedule_and_send_a_due_task_once(sandbox, job_engine: Engine) -> None:
    settings = make_settings(sandbox, str(job_engine.url.render_as_string(hide_password=False)))
    clock = ManualClock(MONDAY_NOON)
    _, learner = complete(job_engine, sandbox)

    assert run_followup_intake(settings, job_engine, clock) == "succeeded"
    assert run_followup_intake(settings, job_engine, clock) == "idle"
    assert run_followup_dispatch(settings, job_engine, clock) == "idle"  # not due yet
    clock.advance(timedelta(days=2))
    assert run_followup_dispatch(settings, job_engine, clock) == "succeeded"
    assert run_followup_dispatch(settings, job_engine, clock) == "idle"

    [message] = messages_to(sandbox, learner)
    assert "SBI feedback model" in message["fullmessagehtml"]
    assert "http://sidecar.test/practice/" in message["fullmessagehtml"]
    [run] = runs(job_engine, DISPATCH_KIND)
    assert (run.status, run.trigger, run.summary["sent"]) == ("succeeded", "schedule", 1)


def test_a_job_whose_lock_is_held_leaves_the_work_to_the_holder(sandbox,
                                                                job_engine: Engine) -> None:
    settings = make_settings(sandbox, job_engine.url.render_as_string(hide_password=False))
    clock = ManualClock(MONDAY_NOON)
    complete(job_engine, sandbox)
    with store.advisory_lock(job_engine, f"{INTAKE_JOB}:{sandbox.url}") as taken:
        assert taken
        assert run_followup_intake(settings, job_engine, clock) == "busy"
    with store.advisory_lock(job_engine, f"{DISPATCH_JOB}:{sandbox.url}") as taken:
        assert run_followup_dispatch(settings, job_engine, clock) == "busy"
    assert run_followup_intake(settings, job_engine, clock) == "succeeded"


def test_a_failed_send_is_logged_recorded_and_sent_once_later(
        sandbox, job_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(sandbox, job_engine.url.render_as_string(hide_password=False))
    clock = ManualClock(MONDAY_NOON)
    _, learner = complete(job_engine, sandbox, index=1)
    run_followup_intake(settings, job_engine, clock)
    clock.advance(timedelta(days=2))
    faults_of(sandbox.app).configure(FaultConfig(error_rate=1.0, error_statuses=[503],
                                                 functions=["core_message_send_instant_messages"]))

    with caplog.at_level(logging.INFO):
        assert run_followup_dispatch(settings, job_engine, clock) == "failed"

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("follow-up dispatch" in r.getMessage() for r in errors)
    assert sandbox.admin_token not in caplog.text
    [run] = runs(job_engine, DISPATCH_KIND)
    assert run.status == "failed" and "503" in (run.error or "")
    assert messages_to(sandbox, learner) == []
    with store.session_scope(store.session_factory(job_engine)) as session:
        [task] = session.scalars(select(FollowupTask))
        assert task.status == "scheduled"  # looked up in Moodle: not there, so send again

    faults_of(sandbox.app).configure(FaultConfig())
    assert run_followup_dispatch(settings, job_engine, clock) == "idle"  # waits 5 minutes
    clock.advance(timedelta(minutes=6))
    assert run_followup_dispatch(settings, job_engine, clock) == "succeeded"
    assert run_followup_dispatch(settings, job_engine, clock) == "idle"
    assert len(messages_to(sandbox, learner)) == 1


def test_a_coach_token_moodle_refuses_fails_the_run_without_showing_it(
        sandbox, job_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    bad = "0123456789abcdef0123456789abcdef"
    settings = make_settings(sandbox, job_engine.url.render_as_string(hide_password=False),
                             coach={"token": bad})
    with caplog.at_level(logging.INFO):
        assert run_followup_dispatch(settings, job_engine, ManualClock(MONDAY_NOON)) == "failed"
    assert bad not in caplog.text
    [run] = runs(job_engine, DISPATCH_KIND)
    assert run.status == "failed" and run.error and bad not in run.error


def test_serve_schedules_both_jobs_from_the_config(sandbox, job_engine: Engine) -> None:
    settings = make_settings(sandbox, job_engine.url.render_as_string(hide_password=False),
                             intake_interval_seconds=17, dispatch_interval_seconds=42)
    scheduler = start_scheduler(settings, job_engine)
    assert scheduler is not None
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        for job_id, seconds in ((INTAKE_JOB, 17), (DISPATCH_JOB, 42)):
            job = jobs[job_id]
            assert job.trigger.interval == timedelta(seconds=seconds)
            assert (job.max_instances, job.coalesce) == (1, True)
    finally:
        scheduler.shutdown(wait=False)
    off = make_settings(sandbox, job_engine.url.render_as_string(hide_password=False),
                        plans_file=None)
    from apscheduler.schedulers.background import BackgroundScheduler

    assert not add_followup_jobs(BackgroundScheduler(), off, job_engine)


def test_a_competency_rated_proficient_in_the_plan_stops_its_sequence(
        sandbox, job_engine: Engine, client: MoodleClient) -> None:
    assert FrameworkSync(client, job_engine, sandbox.url,
                         (ROOT / "examples" / "frameworks",)).apply().result.ok
    [course] = client.courses_by_field("shortname", "COMM-101")
    [feedback] = client.list_competencies(idnumber="WS-COMM-FEEDBACK")
    client.add_competency_to_course(course.id, feedback.id)
    settings = make_settings(sandbox, job_engine.url.render_as_string(hide_password=False))
    clock = ManualClock(MONDAY_NOON)
    _, rated = complete(job_engine, sandbox, index=2)
    _, unrated = complete(job_engine, sandbox, index=3)
    assert run_followup_intake(settings, job_engine, clock) == "succeeded"
    plan = client.create_plan(ep.PlanFields(name="Feedback", userid=rated, status=1))
    client.add_competency_to_plan(plan.id, feedback.id)
    client.call(GRADE_IN_PLAN, _Grade(planid=plan.id, competencyid=feedback.id, grade=2))

    clock.advance(timedelta(days=2))
    run_followup_dispatch(settings, job_engine, clock)

    with store.session_scope(store.session_factory(job_engine)) as session:
        states = {s.learner_id: (s.competency, s.state, s.stop_reason)
                  for s in session.scalars(select(FollowupSequence))}
    assert states[rated] == ("WS-COMM-FEEDBACK", "stopped",
                             "competency rated proficient in the learner's plan")
    assert states[unrated][1] == "active"
    assert messages_to(sandbox, rated) == []
    assert len(messages_to(sandbox, unrated)) == 1
    [run] = runs(job_engine, DISPATCH_KIND)
    assert (run.summary["stopped"], run.summary["sent"]) == (1, 1)
