"""The dispatcher writes whatever its channel reports, without knowing the LMS: delivered
tasks sent (next task scheduled), refused ones failed, held ones back later, doubtful ones
looked up; and progress read from the channel becomes the answer "done" exactly once. The
store runs on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from threading import Lock

import pytest
from sqlalchemy import Engine, insert, select

import store
from store.models import FollowupAnswer, FollowupSequence, FollowupTask
from webhooks.channel import Deliveries, Lookup, Progress, SentPractice
from webhooks.claim import Claimed
from webhooks.clock import ManualClock
from webhooks.dispatch import RETRY_AFTER_FAILURE, RETRY_AFTER_REFUSAL, Dispatcher, SendRules
from webhooks.policy import Plan, Policy
from webhooks.progress import read_progress
from webhooks.schedule import Rules

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
SITE = "https://lms.example.org"
PLAN = Plan(id="p", title="Practice", courses=frozenset({"C-1"}), competencies=(),
            spacing_days=(2, 7), tasks=("Practise once.", "Practise again."))


@dataclass
class ScriptedChannel:
    """Answers each delivery by the learner's id: 1 sent, 2 refused, 3 held, 4 doubtful
    (and then found), 5 doubtful (and then missing)."""

    name: str = "scripted"
    reports_progress: bool = True
    delivered: list[int] = field(default_factory=list)
    extras: list[int] = field(default_factory=list)
    ticked: set[int] = field(default_factory=set)
    marked: list[int] = field(default_factory=list)

    def deliver(self, tasks: Sequence[Claimed]) -> Deliveries:
        outcome = Deliveries()
        for t in tasks:
            self.delivered.append(t.id)
            if t.learner_id == 1:
                outcome.sent[t.id] = 1000 + t.id
            elif t.learner_id == 2:
                outcome.refused[t.id] = "no such learner"
            elif t.learner_id == 3:
                outcome.held[t.id] = "service account lacks a capability"
            else:
                outcome.doubtful[t.id] = "connection reset"
        return outcome

    def find_delivered(self, tasks: Sequence[Claimed]) -> Lookup:
        return Lookup(found={t.id: 2000 + t.id for t in tasks if t.learner_id == 4},
                      missing=[t.id for t in tasks if t.learner_id == 5])

    def after_delivery(self, tasks: Sequence[Claimed]) -> None:
        self.extras.extend(t.id for t in tasks)

    def progress(self, tasks: Sequence[SentPractice]) -> Progress:
        return Progress(done=[t.id for t in tasks if t.lms_ref in self.ticked])

    def mark_done(self, tasks: Sequence[SentPractice]) -> Progress:
        self.marked.extend(t.id for t in tasks)
        return Progress(done=[t.id for t in tasks])


def add_learners(engine: Engine, learners: range) -> None:
    """One sequence per learner (its id the learner's), each with its first task due."""
    with store.session_scope(store.session_factory(engine)) as session:
        session.execute(insert(FollowupSequence), [
            {"id": n, "site": SITE, "learner_id": n, "learner_name": f"L{n}",
             "learner_firstname": f"L{n}", "course_id": 8, "course_shortname": "C-1",
             "course_name": "Course", "competency_name": "", "plan_id": PLAN.id,
             "state": "active", "completed_at": NOW - timedelta(days=2), "card": None}
            for n in learners])
        session.execute(insert(FollowupTask), [
            {"sequence_id": n, "learner_id": n, "task_index": 0, "attempt": 0,
             "text": "Practise once.", "clientmsgid": f"sidecar-fu-{n}-0-0",
             "due_at": NOW - timedelta(minutes=1), "status": "scheduled", "sends": 0}
            for n in learners])


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    add_learners(engine, range(1, 6))
    yield engine
    engine.dispose()


def first_tasks(engine: Engine) -> dict[int, FollowupTask]:
    with store.session_scope(store.session_factory(engine)) as session:
        rows = list(session.scalars(select(FollowupTask).where(FollowupTask.task_index == 0)))
        session.expunge_all()
    return {t.learner_id: t for t in rows}


def dispatcher(engine: Engine, channel: ScriptedChannel, clock: ManualClock) -> Dispatcher:
    return Dispatcher(engine=engine, channel=channel, policy=Policy((PLAN,)),
                      rules=Rules(site=SITE), clock=clock,
                      send=SendRules(quiet=None, daily_cap=5, batch_size=10, workers=1))


def test_each_outcome_of_the_channel_is_written(engine: Engine) -> None:
    channel, clock = ScriptedChannel(), ManualClock(NOW)
    report = dispatcher(engine, channel, clock).run()

    tasks = first_tasks(engine)
    assert (tasks[1].status, tasks[1].msgid) == ("sent", 1000 + tasks[1].id)
    assert (tasks[2].status, tasks[2].error) == ("failed", "no such learner")
    assert (tasks[3].status, tasks[3].due_at) == ("scheduled", NOW + RETRY_AFTER_REFUSAL)
    assert (tasks[4].status, tasks[4].msgid) == ("sent", 2000 + tasks[4].id)
    assert (tasks[5].status, tasks[5].due_at) == ("scheduled", NOW + RETRY_AFTER_FAILURE)
    assert (report.sent, report.failed, report.reconciled, report.resent_after_lookup) == \
        (1, 1, 1, 1)
    assert channel.extras == [tasks[1].id]  # extras only for what was delivered
    with store.session_scope(store.session_factory(engine)) as session:
        nexts = sorted(t.learner_id for t in session.scalars(
            select(FollowupTask).where(FollowupTask.task_index == 1)))
    assert nexts == [1, 4]


def test_progress_from_the_channel_is_answered_done_exactly_once(engine: Engine) -> None:
    channel, clock = ScriptedChannel(), ManualClock(NOW)
    dispatcher(engine, channel, clock).run()
    sent = first_tasks(engine)[1]
    channel.ticked = {sent.msgid or 0}
    rules, policy = Rules(site=SITE), Policy((PLAN,))

    first = read_progress(engine, channel, policy, rules, clock)
    second = read_progress(engine, channel, policy, rules, clock)

    assert (first.checked, first.done) == (2, 1)  # learners 1 and 4 had deliveries
    assert (second.checked, second.done) == (1, 0)  # the answered one is not asked again
    with store.session_scope(store.session_factory(engine)) as session:
        answers = [(a.task_id, a.answer) for a in session.scalars(select(FollowupAnswer))]
    assert answers == [(sent.id, "done")]
    assert first_tasks(engine)[1].status == "answered"
    assert channel.marked == []  # a tick read from the LMS is never written back to it


@dataclass
class SlowChannel(ScriptedChannel):
    """Delivers everything, slowly, and counts the deliveries in flight at once."""

    in_flight: int = 0
    most: int = 0
    guard: Lock = field(default_factory=Lock)

    def deliver(self, tasks: Sequence[Claimed]) -> Deliveries:
        with self.guard:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.02)
        with self.guard:
            self.in_flight -= 1
        return Deliveries(sent={t.id: 1000 + t.id for t in tasks})


def test_no_more_calls_in_flight_than_workers_though_more_threads_prepare(
        engine: Engine) -> None:
    add_learners(engine, range(6, 61))
    channel = SlowChannel()
    report = Dispatcher(engine=engine, channel=channel, policy=Policy((PLAN,)),
                        rules=Rules(site=SITE), clock=ManualClock(NOW),
                        send=SendRules(quiet=None, daily_cap=5, batch_size=2,
                                       workers=3)).run()
    assert report.sent == 60  # 30 deliveries of 2
    assert channel.most == 3  # the site's concurrency used, never exceeded
