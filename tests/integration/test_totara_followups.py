"""Follow-ups and completions on a Totara site, against the sandbox playing Totara 19 (goal
tasks on a practice goal, ticks fed to the schedule) and Totara 17 (coach messages through
the legacy web services); reconciliation through the legacy completion web service."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlalchemy import Engine, select

import store
from config import Settings
from connector.sandbox import FaultConfig, SandboxServer, faults_of
from connector.sandbox.totara.learner import goal_tasks_of, tick_goal_task
from sidecar import followup_wiring
from sidecar.cli import cli
from sidecar.completion_wiring import poll_completions
from sidecar.followup_jobs import (
    PROGRESS_JOB,
    PROGRESS_KIND,
    add_followup_jobs,
    run_followup_dispatch,
    run_followup_intake,
    run_followup_progress,
)
from sidecar.followup_wiring import FollowupSetupError, dispatcher_for
from sidecar.totara_wiring import build_totara_client
from store.models import FollowupAnswer, FollowupTask
from tests.integration.conftest import totara_lms, totara_sandbox
from tests.integration.conftest import totara_release as release
from tests.integration.test_followup_jobs import complete, messages_to, runs
from tests.integration.test_reconcile import complete_a_learner
from webhooks.clock import ManualClock
from webhooks.dispatch import Dispatcher

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "examples" / "followups.yaml"
SECRET = "followup-client-secret-0123456789"
MONDAY_NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


totara, totara_site = totara_sandbox(["19", "17"], SECRET, site="totara_site")


@pytest.fixture
def site(totara_site: SandboxServer) -> SandboxServer:
    followup_wiring._offers.clear()  # each test probes its own site afresh
    return totara_site


def totara_settings(server: SandboxServer, engine: Engine, *, token: bool = True,
                    lms: dict[str, object] | None = None, **followups: object) -> Settings:
    values: dict[str, object] = {
        "plans_file": PLANS, "coach": {"token": server.admin_token},
        "link_secret": "link-secret-for-tests", "public_url": "http://sidecar.test",
        "quiet_hours": None, "daily_cap": 5, "stop_when_proficient": False}
    values.update(followups)
    connection = totara_lms(server, SECRET, **(lms or {}))
    if token:
        connection["token"] = server.admin_token
    return Settings(lms=connection, store={"url": str(engine.url)},  # type: ignore[arg-type]
                    followups=values)  # type: ignore[arg-type]


def tasks(engine: Engine) -> list[FollowupTask]:
    with store.session_scope(store.session_factory(engine)) as session:
        found = list(session.scalars(select(FollowupTask).order_by(FollowupTask.id)))
        session.expunge_all()
        return found


def answers(engine: Engine) -> list[tuple[int, str]]:
    with store.session_scope(store.session_factory(engine)) as session:
        return [(a.task_id, a.answer) for a in session.scalars(select(FollowupAnswer))]


def goal_tasks(server: SandboxServer, learner: int) -> list[dict]:
    with server.state.transaction() as db:
        return goal_tasks_of(db, learner)


def test_practice_tasks_become_goal_tasks_on_one_practice_goal(site, engine) -> None:
    """Totara 19: the first task makes the practice goal and a goal task linked to the course;
    the next task lands on the same goal. Totara 17: a message from the coach, no goal."""
    settings, clock = totara_settings(site, engine), ManualClock(MONDAY_NOON)
    course, learner = complete(engine, site)
    assert run_followup_intake(settings, engine, clock) == "succeeded"
    clock.advance(timedelta(days=2))
    assert run_followup_dispatch(settings, engine, clock) == "succeeded"
    assert run_followup_dispatch(settings, engine, clock) == "idle"
    first = tasks(engine)[0]
    if release(site) == "17":
        [message] = messages_to(site, learner)
        assert f"Ref: {first.clientmsgid}" in message["fullmessagehtml"]
        assert goal_tasks(site, learner) == []
        return

    [made] = goal_tasks(site, learner)
    assert made["goal_id_number"] == f"lms-sidecar-practice-{learner}-course-{course}"
    assert made["goal_name"].startswith("Practice: ")
    assert (made["resource_id"], made["resource_type"]) == (course, "course")
    assert "SBI feedback model" in made["description"]
    assert "http://sidecar.test/practice/" in made["description"]
    assert made["description"].endswith(f"Ref: {first.clientmsgid}")
    assert (first.status, first.msgid) == ("sent", made["id"])
    assert messages_to(site, learner) == []

    clock.advance(timedelta(days=6))
    assert run_followup_dispatch(settings, engine, clock) == "succeeded"
    second = goal_tasks(site, learner)
    assert len(second) == 2 and second[0]["goal_id"] == second[1]["goal_id"]


def test_a_ticked_goal_task_is_recorded_as_done_exactly_once(site, engine) -> None:
    settings, clock = totara_settings(site, engine), ManualClock(MONDAY_NOON)
    _, learner = complete(engine, site, index=1)
    run_followup_intake(settings, engine, clock)
    clock.advance(timedelta(days=2))
    run_followup_dispatch(settings, engine, clock)
    first, planned = tasks(engine)
    assert run_followup_progress(settings, engine, clock) == "idle"  # nothing ticked yet
    if release(site) == "17":
        assert answers(engine) == []  # messages: the learner answers through the link only
        return

    with site.state.transaction() as db:
        tick_goal_task(db, learner, first.msgid)
    clock.advance(timedelta(hours=3))
    assert run_followup_progress(settings, engine, clock) == "succeeded"
    assert run_followup_progress(settings, engine, clock) == "idle"

    assert answers(engine) == [(first.id, "done")]
    after = {t.id: t for t in tasks(engine)}
    assert after[first.id].status == "answered"
    assert after[planned.id].due_at > planned.due_at  # "done": the next one comes later
    [run] = runs(engine, PROGRESS_KIND)
    assert (run.status, run.summary["done"]) == ("succeeded", 1)


class CrashAfterSend(Dispatcher):
    """Totara made the goal task, then the process died before the commit."""

    def _mark_sent(self, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed between send and commit")


def test_a_crash_after_the_goal_task_was_made_never_duplicates_it(site, engine) -> None:
    settings, clock = totara_settings(site, engine), ManualClock(MONDAY_NOON)
    _, learner = complete(engine, site, index=2)
    run_followup_intake(settings, engine, clock)
    clock.advance(timedelta(days=2))
    crashing = dispatcher_for(settings, engine, clock)
    crashing.__class__ = CrashAfterSend
    with pytest.raises(SystemExit):
        crashing.run()
    assert [t.status for t in tasks(engine)] == ["sending"]

    clock.advance(timedelta(minutes=11))
    report = dispatcher_for(settings, engine, clock).run()

    assert (report.reconciled, report.sent) == (1, 0)
    delivered = goal_tasks(site, learner) if release(site) == "19" else \
        messages_to(site, learner)
    assert len(delivered) == 1
    assert tasks(engine)[0].msgid == delivered[0]["id"]


def test_a_delivery_that_never_reached_totara_is_made_after_the_look_up(site,
                                                                        engine) -> None:
    """The write fails with HTTP 503: the task is looked up (not there), put back, and made
    once on the next run: a goal task on 19, a legacy message on 17."""
    goal_tasks_site = release(site) == "19"
    settings, clock = totara_settings(site, engine), ManualClock(MONDAY_NOON)
    _, learner = complete(engine, site, index=3)
    run_followup_intake(settings, engine, clock)
    clock.advance(timedelta(days=2))
    dispatcher = dispatcher_for(settings, engine, clock)  # probes the site: before the fault
    write = "perform_goal_create_goal_task" if goal_tasks_site else \
        "core_message_send_instant_messages"
    faults_of(site.app).configure(FaultConfig(error_rate=1.0, error_statuses=[503],
                                              functions=[write]))
    report = dispatcher.run()
    assert (report.sent, report.resent_after_lookup) == (0, 1) and report.errors

    def delivered() -> list[dict]:
        return goal_tasks(site, learner) if goal_tasks_site else messages_to(site, learner)

    assert delivered() == []
    faults_of(site.app).configure(FaultConfig())
    clock.advance(timedelta(minutes=6))
    assert dispatcher_for(settings, engine, clock).run().sent == 1
    assert len(delivered()) == 1


def test_reconciliation_reads_totara_completions_through_the_legacy_service(site,
                                                                            engine) -> None:
    course, learner, _ = complete_a_learner(site)
    with site.state.transaction() as db:
        shortname = db.scalar("SELECT shortname FROM course WHERE id = ?", (course,))
    plans = Path(str(engine.url.database)).parent / "plans.yaml"
    plans.write_text(f"version: 1\nplans:\n  - id: p\n    title: P\n    courses: [{shortname}]\n"
                     "    tasks: [\"Practise.\"]\n")
    outcome = poll_completions(totara_settings(site, engine, plans_file=plans), engine)

    assert outcome.status == "succeeded", outcome.error
    assert outcome.courses.ids == [course]
    assert (course, learner) in [(c, u) for c, u, _ in outcome.found.new]
    assert "core_completion_get_course_completion_status" in outcome.calls




def test_an_answer_on_the_practice_page_ticks_the_goal_task_once(site, engine) -> None:
    """Totara 19: "done" on the practice page ticks the learner's goal task at the next
    progress run (then never again); "skip" ticks nothing; a tick read from Totara is not
    written back."""
    from flask import Flask

    from webhooks import learner as page

    settings, clock = totara_settings(site, engine), ManualClock(MONDAY_NOON)
    _, done_learner = complete(engine, site, index=1)
    _, skip_learner = complete(engine, site, index=3)
    run_followup_intake(settings, engine, clock)
    clock.advance(timedelta(days=2))
    run_followup_dispatch(settings, engine, clock)
    if release(site) == "17":
        return  # messages: nothing to tick
    firsts = {t.learner_id: t for t in tasks(engine) if t.task_index == 0}
    app = Flask("t")
    page.init_app(app, followup_wiring.learner_pages(settings, engine, clock))
    http = app.test_client()
    signer = followup_wiring.signer_for(settings, clock)
    for learner, answer in ((done_learner, "done"), (skip_learner, "skip")):
        task = firsts[learner]
        reply = http.post(f"/practice/{signer.token(task.id, learner)}", data={"answer": answer})
        assert reply.status_code == 200
    assert [t["completed"] for t in goal_tasks(site, done_learner)] == [False]

    totara = build_totara_client(settings.lms)

    def ticks() -> int:
        return sum(row.calls for row in totara.stats.by_function()
                   if row.function == "perform_goal_set_goal_task_progress")

    first = followup_wiring.progress_for(settings, engine, clock, totara=totara)
    assert (first.marked, first.done) == (1, 0)
    assert [t["completed"] for t in goal_tasks(site, done_learner)] == [True]
    assert [t["completed"] for t in goal_tasks(site, skip_learner)] == [False]
    assert ticks() == 1
    again = followup_wiring.progress_for(settings, engine, clock, totara=totara)
    assert (again.marked, again.checked) == (0, 0)  # both answered: nothing left to ask
    assert ticks() == 1  # never twice

def test_ticks_are_read_within_the_configured_window_and_interval(site, engine) -> None:
    """`followups.progress_window_days`: a task delivered longer ago is not asked about;
    `followups.progress_interval_seconds`: the interval `sidecar serve` reads ticks at."""
    settings = totara_settings(site, engine, progress_window_days=3,
                               progress_interval_seconds=120)
    clock = ManualClock(MONDAY_NOON)
    _, learner = complete(engine, site, index=2)
    run_followup_intake(settings, engine, clock)
    clock.advance(timedelta(days=2))
    run_followup_dispatch(settings, engine, clock)
    if release(site) != "17":
        first = tasks(engine)[0]
        with site.state.transaction() as db:
            tick_goal_task(db, learner, first.msgid)
        clock.advance(timedelta(days=4))  # delivered 4 days ago: outside the 3-day window
        assert run_followup_progress(settings, engine, clock) == "idle"
        assert answers(engine) == []
        wider = totara_settings(site, engine, progress_window_days=5)
        assert run_followup_progress(wider, engine, clock) == "succeeded"
        assert answers(engine) == [(first.id, "done")]
    scheduler = BackgroundScheduler()
    assert add_followup_jobs(scheduler, settings, engine)
    job = {j.id: j for j in scheduler.get_jobs()}[PROGRESS_JOB]
    assert job.trigger.interval == timedelta(seconds=120)

def test_totara_settings_that_cannot_work_are_refused_by_name(site, engine) -> None:
    no_token = totara_settings(site, engine, token=False)
    outcome = poll_completions(no_token, engine)
    assert outcome.status == "failed" and "SIDECAR_LMS__TOKEN" in (outcome.error or "")
    with pytest.raises(FollowupSetupError, match="SIDECAR_LMS__TOKEN"):
        dispatcher_for(no_token, engine, ManualClock(MONDAY_NOON))
    proficient = totara_settings(site, engine, stop_when_proficient=True)
    with pytest.raises(FollowupSetupError, match=r"followups\.stop_when_proficient"):
        dispatcher_for(proficient, engine, ManualClock(MONDAY_NOON))
    report = totara_settings(site, engine)
    report = report.model_copy(update={"webhooks": report.webhooks.model_copy(
        update={"report": report.webhooks.report.model_copy(update={"id": 4})})})
    outcome = poll_completions(report, engine)
    assert outcome.status == "failed" and "core_reportbuilder_retrieve_report" in \
        (outcome.error or "")


def test_the_totara_queue_by_hand_with_json(site, engine, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`sidecar followups intake | dispatch | progress` on a Totara site; `progress --json`
    reports the tick once, then nothing."""
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    for name, value in (("LMS__CLIENT_SECRET", SECRET), ("LMS__TOKEN", site.admin_token),
                        ("FOLLOWUPS__COACH__TOKEN", site.admin_token),
                        ("FOLLOWUPS__LINK_SECRET", "link-secret-for-tests")):
        monkeypatch.setenv(f"SIDECAR_{name}", value)
    config = tmp_path / "sidecar.yaml"
    config.write_text(
        f"lms:\n  kind: totara\n  url: {site.url}\n  client_id: lms-sidecar\n"
        "  retries:\n    attempts: 2\n    backoff: 0\n"
        f"store:\n  url: {engine.url}\n"
        f"followups:\n  plans_file: {PLANS}\n  public_url: http://sidecar.test\n"
        "  quiet_hours: null\n  stop_when_proficient: false\n")
    _, learner = complete(engine, site, index=4)

    def sidecar(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--config", str(config), "followups", *args])

    assert sidecar("intake", "--at", "2026-11-02T12:01").exit_code == 0
    sent = sidecar("dispatch", "--at", "2026-11-04T12:05", "--json")
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["sent"] == 1
    if release(site) == "19":  # the learner ticks it, through the sandbox's control endpoint
        admin = {"Authorization": f"Bearer {site.admin_token}"}
        base = f"{site.url}/_sandbox/totara/goal-tasks"
        [made] = requests.get(base, params={"userid": learner}, headers=admin, timeout=10).json()
        assert requests.post(f"{base}/{made['id']}/tick", json={"userid": learner},
                             timeout=10).status_code == 401
        assert requests.post(f"{base}/{made['id']}/tick", json={"userid": learner + 1},
                             headers=admin, timeout=10).status_code == 400  # not theirs
        requests.post(f"{base}/{made['id']}/tick", json={"userid": learner}, headers=admin,
                      timeout=10).raise_for_status()
    ticked = sidecar("progress", "--at", "2026-11-04T15:00", "--json")
    assert ticked.exit_code == 0, ticked.output
    report = json.loads(ticked.stdout)
    expected = (1, 1, "goal tasks") if release(site) == "19" else (0, 0, "messages")
    assert (report["checked"], report["done"], report["channel"]) == expected
    again = json.loads(sidecar("progress", "--at", "2026-11-04T15:10", "--json").stdout)
    assert (again["checked"], again["done"]) == (0, 0)


def test_the_enrolment_stop_rule_asks_the_legacy_services(site, engine) -> None:
    settings, clock = totara_settings(site, engine), ManualClock(MONDAY_NOON)
    course, learner = complete(engine, site, index=5)
    run_followup_intake(settings, engine, clock)
    with site.state.transaction() as db:
        db.execute("DELETE FROM user_enrolments WHERE userid = ? AND courseid = ?",
                   (learner, course))
    clock.advance(timedelta(days=2))
    report = dispatcher_for(settings, engine, clock).run()
    assert (report.sent, report.stopped) == (0, 1)
    assert goal_tasks(site, learner) == [] and messages_to(site, learner) == []
    assert [t.status for t in tasks(engine)] == ["cancelled"]
