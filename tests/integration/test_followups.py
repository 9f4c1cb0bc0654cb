"""Follow-ups end to end against the sandbox: schedule, dispatch, crash, quiet hours, cap,
stop rules, answers and the learner page; the store on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

import store
from connector.moodle.client import MoodleClient
from store.models import FollowupSequence, FollowupTask
from webhooks.clock import ManualClock
from webhooks.dispatch import Dispatcher, SendRules
from webhooks.fsrs_adapter import Answer
from webhooks.intake import describe
from webhooks.learner import LearnerPages
from webhooks.links import LinkSigner
from webhooks.message_channel import MessageChannel
from webhooks.policy import load_policy
from webhooks.schedule import Rules, opt_out, record_answer, start_sequences
from webhooks.stops import LmsStopChecks
from webhooks.timing import QuietWindow

pytestmark = pytest.mark.integration
PLANS = Path(__file__).resolve().parents[2] / "examples" / "followups.yaml"
MONDAY_NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    inbox_id: int
    userid: int
    courseid: int
    completed_at: datetime


@pytest.fixture
def followup_engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


def _learners(sandbox, shortname: str) -> tuple[int, list[int]]:
    with sandbox.state.transaction() as db:
        course = db.scalar("SELECT id FROM course WHERE shortname = ?", (shortname,))
        users = [r["userid"] for r in db.all(
            "SELECT userid FROM user_enrolments WHERE courseid = ? ORDER BY userid", (course,))]
    return course, users


def _sent(sandbox, learner: int | None = None) -> list[dict]:
    with sandbox.state.transaction() as db:
        rows = db.all("SELECT m.*, mb.userid AS useridto FROM messages m JOIN "
                      "message_conversation_members mb ON mb.conversationid = m.conversationid "
                      "AND mb.userid <> m.useridfrom WHERE m.useridfrom = 2")
    return [r for r in rows if learner is None or r["useridto"] == learner]


class World:
    def __init__(self, sandbox, engine: Engine, client: MoodleClient) -> None:
        self.sandbox, self.engine, self.client = sandbox, engine, client
        self.clock = ManualClock(MONDAY_NOON)
        self.policy = load_policy(PLANS, [2, 7, 21, 60])
        self.rules = Rules(site=sandbox.url, timezone="UTC", max_repeats=1)
        self.signer = LinkSigner(SecretStr("link-key"), self.clock, timedelta(days=30),
                                 "http://sidecar.test")
        self.send = SendRules(quiet=QuietWindow.parse("20:00", "08:00"), daily_cap=1,
                              batch_size=50, lease=timedelta(minutes=10), workers=2)
        self.course, self.learners = _learners(sandbox, "COMM-101")

    def complete(self, learner: int, inbox_id: int = 1) -> list[FollowupSequence]:
        event = Event(inbox_id, learner, self.course, self.clock.now())
        done = describe(self.client, event)
        with store.session_scope(store.session_factory(self.engine)) as session:
            return start_sequences(session, self.policy, self.rules, done, self.clock.now())

    def dispatcher(self, stops: bool = False, **send: object) -> Dispatcher:
        return Dispatcher(engine=self.engine,
                          channel=MessageChannel(self.client, 2, self.signer.url, self.clock),
                          policy=self.policy, rules=self.rules,
                          send=replace(self.send, **send), clock=self.clock,
                          stops=LmsStopChecks(self.client, check_proficiency=False)
                          if stops else None)

    def tasks(self) -> list[FollowupTask]:
        with store.session_scope(store.session_factory(self.engine)) as session:
            return list(session.scalars(select(FollowupTask).order_by(FollowupTask.id)))


@pytest.fixture
def world(sandbox, followup_engine: Engine, client: MoodleClient) -> World:
    return World(sandbox, followup_engine, client)


def test_a_completion_opens_one_sequence_and_its_tasks_go_out_when_due(world: World) -> None:
    learner = world.learners[0]
    [sequence] = world.complete(learner)
    assert world.complete(learner, inbox_id=2) == []  # idempotent: same learner+course+plan

    assert world.dispatcher().run().sent == 0  # not due yet
    world.clock.advance(timedelta(days=2))
    report = world.dispatcher().run()

    assert report.sent == 1
    [message] = _sent(world.sandbox, learner)
    assert f"Ref: sidecar-fu-{sequence.id}-0-0" in message["fullmessagehtml"]
    assert "SBI feedback model" in message["fullmessagehtml"]
    assert "http://sidecar.test/practice/" in message["fullmessagehtml"]
    first, second = world.tasks()
    assert (first.status, first.msgid) == ("sent", message["id"])
    assert second.task_index == 1 and second.due_at == world.clock.now() + timedelta(days=5)


def test_answers_reschedule_with_fsrs_repeat_and_stop(world: World) -> None:
    world.complete(world.learners[0])
    world.clock.advance(timedelta(days=2))
    world.dispatcher().run()
    first, planned = world.tasks()
    factory = store.session_factory(world.engine)
    with store.session_scope(factory) as session:
        done = record_answer(session, first.id, Answer.DONE, world.policy, world.rules,
                             world.clock.now())
    assert done.next_due is not None and done.next_due > planned.due_at  # done: later
    with store.session_scope(factory) as session:
        again = record_answer(session, first.id, Answer.HARD, world.policy, world.rules,
                              world.clock.now())
    assert again.already and again.answer is Answer.DONE

    world.clock.advance(timedelta(days=11))
    assert world.dispatcher().run().sent == 1
    with store.session_scope(factory) as session:
        repeat = record_answer(session, world.tasks()[1].id, Answer.NOT_YET, world.policy,
                               world.rules, world.clock.now())
    assert repeat.repeated
    assert [(t.task_index, t.attempt, t.status) for t in world.tasks()][-1] == (1, 1, "scheduled")
    with store.session_scope(factory) as session:
        stop = record_answer(session, world.tasks()[0].id, Answer.STOP, world.policy,
                             world.rules, world.clock.now())
    assert stop.already  # the first task was answered already; stop by opt-out instead
    with store.session_scope(factory) as session:
        assert opt_out(session, world.rules.site, world.learners[0], world.clock.now()) == 1
    assert world.tasks()[-1].status == "cancelled"


class CrashAfterSend(Dispatcher):
    """Moodle got the message, then the process died before the commit."""

    def _mark_sent(self, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed between send and commit")


def test_a_crash_between_send_and_commit_never_sends_twice(world: World) -> None:
    learner = world.learners[1]
    world.complete(learner)
    world.clock.advance(timedelta(days=2))
    crashing = world.dispatcher(workers=1)
    crashing.__class__ = CrashAfterSend
    with pytest.raises(SystemExit):
        crashing.run()
    assert [t.status for t in world.tasks()] == ["sending"]
    assert len(_sent(world.sandbox, learner)) == 1

    assert world.dispatcher().run().sent == 0  # within the lease: left alone
    world.clock.advance(timedelta(minutes=11))
    report = world.dispatcher().run()

    assert (report.reconciled, report.sent) == (1, 0)
    assert len(_sent(world.sandbox, learner)) == 1
    assert world.tasks()[0].status == "sent"


def test_a_claim_that_never_reached_moodle_is_sent_after_the_look_up(world: World) -> None:
    learner = world.learners[2]
    world.complete(learner)
    world.clock.advance(timedelta(days=2))
    with store.session_scope(store.session_factory(world.engine)) as session:
        [task] = session.scalars(select(FollowupTask))
        task.status, task.claimed_at = "sending", world.clock.now()
    world.clock.advance(timedelta(minutes=11))
    report = world.dispatcher().run()
    assert (report.resent_after_lookup, report.sent) == (1, 1)
    assert len(_sent(world.sandbox, learner)) == 1


def test_a_batch_writes_each_outcome_and_schedules_the_next_tasks(world: World) -> None:
    """One batch, one send call: Moodle refuses one message (no such user); the others are
    marked sent with their msgid and time and get their next task; the refused one fails."""
    sent_to, refused = world.learners[6:8], world.learners[8]
    for number, learner in enumerate([*sent_to, refused]):
        world.complete(learner, inbox_id=number)
    with store.session_scope(store.session_factory(world.engine)) as session:
        gone = session.scalars(select(FollowupTask).where(FollowupTask.learner_id == refused)).one()
        gone.learner_id = 999_999
    world.clock.advance(timedelta(days=2))

    report = world.dispatcher(workers=1).run()

    assert (report.sent, report.failed) == (2, 1)
    tasks = world.tasks()
    firsts = {t.learner_id: t for t in tasks if t.task_index == 0}
    for learner in sent_to:
        [message] = _sent(world.sandbox, learner)
        assert (firsts[learner].status, firsts[learner].msgid) == ("sent", message["id"])
        assert firsts[learner].sent_at == world.clock.now()
    assert firsts[999_999].status == "failed" and "message preferences" in firsts[999_999].error
    nexts = [t for t in tasks if t.task_index == 1]
    assert sorted(t.sequence_id for t in nexts) == sorted(firsts[x].sequence_id for x in sent_to)
    assert {t.due_at for t in nexts} == {world.clock.now() + timedelta(days=5)}


def test_quiet_hours_and_the_daily_cap_defer(world: World) -> None:
    learner = world.learners[3]
    world.complete(learner)
    world.clock.set(MONDAY_NOON + timedelta(days=2, hours=9))  # 21:00 UTC
    report = world.dispatcher().run()
    assert (report.sent, report.deferred) == (0, 1)
    assert world.tasks()[0].due_at == datetime(2026, 11, 5, 8, 0, tzinfo=UTC)

    world.clock.set(datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    with store.session_scope(store.session_factory(world.engine)) as session:
        sequence = session.scalars(select(FollowupSequence)).one()
        clone = FollowupTask(sequence_id=sequence.id, learner_id=learner, task_index=0,
                             attempt=5, text="extra", clientmsgid="extra-1",
                             due_at=world.clock.now(), status="scheduled", sends=0)
        session.add(clone)
    report = world.dispatcher().run()
    assert (report.sent, report.deferred) == (1, 1)
    assert len(_sent(world.sandbox, learner)) == 1


def test_stop_rules_suspended_and_unenrolled(world: World) -> None:
    suspended, unenrolled = world.learners[4], world.learners[5]
    world.complete(suspended)
    world.complete(unenrolled)
    with world.sandbox.state.transaction() as db:
        db.execute("UPDATE user SET suspended = 1 WHERE id = ?", (suspended,))
        db.execute("DELETE FROM user_enrolments WHERE userid = ? AND courseid = ?",
                   (unenrolled, world.course))
    world.clock.advance(timedelta(days=2))
    report = world.dispatcher(stops=True).run()
    assert (report.sent, report.stopped) == (0, 2)
    with store.session_scope(store.session_factory(world.engine)) as session:
        reasons = sorted(s.stop_reason for s in session.scalars(select(FollowupSequence)))
    assert reasons == ["learner no longer enrolled in the course",
                       "learner suspended or deleted in the LMS"]
    assert _sent(world.sandbox) == []


def test_the_learner_page(world: World) -> None:
    from flask import Flask

    from webhooks import learner as page

    world.complete(world.learners[0])
    world.clock.advance(timedelta(days=2))
    world.dispatcher().run()
    first = world.tasks()[0]
    app = Flask("t")
    page.init_app(app, LearnerPages(world.engine, world.signer, world.policy, world.rules,
                                    world.clock))
    http = app.test_client()
    url = f"/practice/{world.signer.token(first.id, first.learner_id)}"

    shown = http.get(url)
    assert shown.status_code == 200 and b'value="done"' in shown.data
    assert http.get(url).status_code == 200 and len(world.tasks()) == 2  # GET changes nothing
    assert http.get(url[:-3] + "xyz").status_code == 400
    assert b"Traceback" not in http.get("/practice/garbage").data
    answered = http.post(url, data={"answer": "hard"})
    assert answered.status_code == 200 and b"Thank you" in answered.data
    assert b"You answered: hard" in http.get(url).data
    world.clock.advance(timedelta(days=31))
    assert http.get(url).status_code == 410


@pytest.mark.parametrize("store_url", ["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_dispatchers_racing_send_each_task_once_within_the_daily_cap(
        sandbox, store_url: str, client: MoodleClient) -> None:
    """Each learner has three tasks due, next to each other in claim order, so one learner's
    tasks fall into batches that different workers claim at the same moment: with a cap of
    one a day each learner gets exactly one message, and the other two wait for tomorrow."""
    engine = store.create_engine(store_url)
    store.migrate(engine)
    try:
        world = World(sandbox, engine, client)
        learners = world.learners[:30]
        assert len(learners) >= 20
        for number, learner in enumerate(learners):
            world.complete(learner, inbox_id=number)
        world.clock.advance(timedelta(days=2))
        _two_more_due_tasks_each(world)
        racers = [world.dispatcher(batch_size=4, workers=2) for _ in range(2)]
        reports = []
        threads = [threading.Thread(target=lambda d=d: reports.append(d.run())) for d in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sum(r.sent for r in reports) == len(learners)
        assert sum(r.deferred for r in reports) == 2 * len(learners)
        messages = _sent(sandbox)
        refs = [m["fullmessagehtml"].split("Ref: ")[1] for m in messages]
        assert len(refs) == len(set(refs)) == len(learners)
        assert sorted(m["useridto"] for m in messages) == sorted(learners)  # one each
        tomorrow = datetime(2026, 11, 5, tzinfo=UTC)
        waiting = [t for t in world.tasks() if t.status == "scheduled" and t.task_index == 0]
        assert len(waiting) == 2 * len(learners)
        assert {t.due_at for t in waiting} == {tomorrow}
    finally:
        engine.dispose()


def _two_more_due_tasks_each(world: World) -> None:
    """Add two due tasks to every sequence and order all due tasks learner by learner."""
    now = world.clock.now()
    with store.session_scope(store.session_factory(world.engine)) as session:
        firsts = list(session.scalars(select(FollowupTask).order_by(FollowupTask.id)))
        for number, first in enumerate(firsts):
            first.due_at = now - timedelta(minutes=10, seconds=-3 * number)
            for extra in (1, 2):
                session.add(FollowupTask(
                    sequence_id=first.sequence_id, learner_id=first.learner_id, task_index=0,
                    attempt=10 + extra, text=f"extra {extra}",
                    clientmsgid=f"extra-{first.sequence_id}-{extra}",
                    due_at=first.due_at + timedelta(seconds=extra), status="scheduled", sends=0))
