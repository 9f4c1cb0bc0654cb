"""The durable follow-up schedule: sequences from completions, tasks, answers, stop rules.

Everything here works inside the caller's session (one transaction per job or request) and
takes the time as an argument, so tests and the demo can move it. A sequence is one learner's
practice after one course by one plan; it has at most one task waiting to be sent at a time.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlalchemy import Table, bindparam, case, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.bulk import Bulk
from store.expressions import unindexed
from store.models import (
    FollowupAnswer,
    FollowupOptOut,
    FollowupSequence,
    FollowupTask,
    SequenceState,
    TaskStatus,
)
from webhooks.fsrs_adapter import Answer, initial_card, review
from webhooks.policy import FollowupError, Plan, Policy, render
from webhooks.timing import on_working_day, zone_for

log = logging.getLogger(__name__)

OPEN_STATES = (SequenceState.ACTIVE.value, SequenceState.PAUSED.value)


class UnknownTaskError(FollowupError):
    """No such task (a link to a deleted task, or a wrong id)."""


@dataclass(frozen=True)
class Rules:
    """The sending rules of the config that the schedule needs."""

    site: str
    timezone: str = "UTC"
    working_days_only: bool = False
    max_repeats: int = 2


@dataclass(frozen=True)
class Completion:
    """A completion with what the LMS said about the learner, course and its competencies."""

    userid: int
    courseid: int
    completed_at: datetime
    learner_fullname: str
    learner_firstname: str
    learner_timezone: str | None
    course_shortname: str
    course_idnumber: str
    course_name: str
    competencies: list[tuple[str, int, str]] = field(default_factory=list)  # idnumber, id, name
    inbox_id: int | None = None


@dataclass(frozen=True)
class AnswerOutcome:
    """What an answer did: the sequence's state and when the next task falls due."""

    answer: Answer
    state: str
    next_due: datetime | None
    repeated: bool = False
    already: bool = False


def start_sequences(session: Session, policy: Policy, rules: Rules, done: Completion,
                    now: datetime) -> list[FollowupSequence]:
    """Open a sequence for every plan that applies to ``done`` and schedule its first task.

    Idempotent: a learner+course+plan that already has a sequence gets no second one (the
    unique key decides, so two instances racing are safe). Opted-out learners get none.
    """
    if is_opted_out(session, rules.site, done.userid):
        return []
    keys = {k for k in (done.course_shortname, done.course_idnumber) if k}
    matches = policy.match(keys, [idnumber for idnumber, _, _ in done.competencies])
    names = {idnumber: (cid, name) for idnumber, cid, name in done.competencies}
    created = []
    for match in matches:
        plan = match.plan
        cid, cname = names.get(match.competency or "", (None, match.competency or ""))
        sequence = FollowupSequence(
            site=rules.site, learner_id=done.userid, learner_name=done.learner_fullname,
            learner_firstname=done.learner_firstname, learner_timezone=done.learner_timezone,
            course_id=done.courseid, course_shortname=done.course_shortname,
            course_name=done.course_name, competency=match.competency, competency_id=cid,
            competency_name=cname, plan_id=plan.id, state=SequenceState.ACTIVE.value,
            completed_at=done.completed_at, inbox_id=done.inbox_id,
            card=initial_card(done.completed_at, plan.spacing_days[0], plan.spacing_days[-1]))
        try:
            with session.begin_nested():
                session.add(sequence)
                session.flush()
        except IntegrityError:
            log.info("follow-up sequence for learner %s, course %s, plan %s exists already",
                     done.userid, done.courseid, plan.id)
            continue
        due = done.completed_at + timedelta(days=plan.offset_days(0))
        schedule_task(session, sequence, plan, rules, index=0, attempt=0,
                      due=max(due, now))
        created.append(sequence)
    return created


class TaskSource(Protocol):
    """What a task's text and due time are made from: a sequence, as an object or a row."""

    @property
    def id(self) -> int: ...
    @property
    def learner_id(self) -> int: ...
    @property
    def learner_timezone(self) -> str | None: ...
    @property
    def learner_firstname(self) -> str: ...
    @property
    def learner_name(self) -> str: ...
    @property
    def course_name(self) -> str: ...
    @property
    def course_shortname(self) -> str: ...
    @property
    def competency_name(self) -> str: ...
    @property
    def competency(self) -> str | None: ...


@dataclass(frozen=True)
class SentTask:
    """A task that reached the learner: which one, its place in its plan, Moodle's message id."""

    task_id: int
    sequence_id: int
    task_index: int
    msgid: int


def task_row(sequence: TaskSource, plan: Plan, rules: Rules, *, index: int, attempt: int,
             due: datetime) -> tuple[object, ...]:
    """The column values (:data:`TASK_COLUMNS`) of task ``index`` (its ``attempt``-th repeat)
    of ``sequence``, due at ``due`` (moved to a working day when configured); its text is
    rendered now, once."""
    if rules.working_days_only:
        due = on_working_day(due, zone_for(sequence.learner_timezone, rules.timezone))
    values = {
        "learner_firstname": sequence.learner_firstname,
        "learner_fullname": sequence.learner_name, "course_name": sequence.course_name,
        "course_shortname": sequence.course_shortname,
        "competency_name": sequence.competency_name,
        "competency_idnumber": sequence.competency or "", "plan_title": plan.title,
    }
    return (sequence.id, sequence.learner_id, index, attempt, render(plan.tasks[index], values),
            f"sidecar-fu-{sequence.id}-{index}-{attempt}", due, TaskStatus.SCHEDULED.value, 0)


#: What :func:`task_row` gives, in order (``created_at`` is the column's default).
TASK_COLUMNS = ("sequence_id", "learner_id", "task_index", "attempt", "text", "clientmsgid",
                "due_at", "status", "sends")


def task_values(sequence: TaskSource, plan: Plan, rules: Rules, *, index: int, attempt: int,
                due: datetime) -> dict[str, object]:
    """:func:`task_row` by column name."""
    return dict(zip(TASK_COLUMNS, task_row(sequence, plan, rules, index=index,
                                           attempt=attempt, due=due), strict=True))


def schedule_task(session: Session, sequence: FollowupSequence, plan: Plan, rules: Rules, *,
                  index: int, attempt: int, due: datetime) -> FollowupTask:
    """Add task ``index`` (its ``attempt``-th repeat) to ``sequence``, due at ``due`` (moved
    to a working day when configured); its text is rendered now and never changes."""
    task = FollowupTask(**task_values(sequence, plan, rules, index=index, attempt=attempt,
                                      due=due))
    session.add(task)
    session.flush()
    return task


def record_sent(session: Session, sent: Sequence[SentTask], policy: Policy, rules: Rules,
                now: datetime) -> None:
    """Mark ``sent`` tasks sent (msgid, sent_at; an answer that came first is kept) and, for
    each open sequence without a waiting task, schedule the plan's next task at the planned
    gap (an answer may move it) or finish the sequence after its last task.

    Set-based, for a dispatch batch: five statements at most, whatever the batch size.
    """
    if not sent:
        return
    connection = session.connection()
    _MARK_SENT.run(connection, [(s.task_id, s.msgid) for s in sent], b_now=now)
    sequences = {row.id: row for row in connection.execute(
        _SEQUENCES, {"ids": list({s.sequence_id for s in sent})})}
    waiting = {sequence_id for sequence_id, row in sequences.items() if row.waiting}
    rows: list[tuple[object, ...]] = []
    finished: list[int] = []
    for task in sent:
        sequence = sequences.get(task.sequence_id)
        plan = policy.plan(sequence.plan_id) if sequence is not None else None
        if sequence is None or plan is None or task.sequence_id in waiting \
                or sequence.state not in OPEN_STATES:
            continue
        waiting.add(task.sequence_id)  # one next task per sequence, even if two were sent
        following = task.task_index + 1
        if following < len(plan.tasks):
            rows.append(task_row(sequence, plan, rules, index=following, attempt=0,
                                 due=now + timedelta(days=plan.gap_days(following))))
        elif sequence.state == SequenceState.ACTIVE.value:
            finished.append(sequence.id)
    _insert_new_tasks(connection.dialect.name).run(connection, rows)
    if finished:
        connection.execute(_FINISH, {"ids": finished})


_TASKS = cast(Table, FollowupTask.__table__)
_MARK_SENT = Bulk(update(_TASKS).where(_TASKS.c.id == bindparam("b_id")).values(
    status=case((_TASKS.c.status == TaskStatus.SENDING.value, TaskStatus.SENT.value),
                else_=_TASKS.c.status),
    msgid=bindparam("b_msgid"), sent_at=bindparam("b_now"), error=None),
    row=("b_id", "b_msgid"), shared=("b_now",))
_SEQUENCES = select(
    FollowupSequence.id, FollowupSequence.learner_id, FollowupSequence.learner_timezone,
    FollowupSequence.learner_firstname, FollowupSequence.learner_name,
    FollowupSequence.course_name, FollowupSequence.course_shortname,
    FollowupSequence.competency_name, FollowupSequence.competency, FollowupSequence.plan_id,
    FollowupSequence.state,
    # whether the sequence has a task waiting to be sent (found by the sequence's index:
    # unindexed() keeps SQLite from walking the status index, every scheduled task)
    exists().where(_TASKS.c.sequence_id == FollowupSequence.id,
                   unindexed(_TASKS.c.status) == TaskStatus.SCHEDULED.value).label("waiting"),
).where(FollowupSequence.id.in_(bindparam("ids", expanding=True)))
_FINISH = update(cast(Table, FollowupSequence.__table__)).where(
    FollowupSequence.id.in_(bindparam("ids", expanding=True)),
    FollowupSequence.state == SequenceState.ACTIVE.value).values(
    state=SequenceState.FINISHED.value, stop_reason="all tasks sent")


@functools.cache
def _insert_new_tasks(dialect: str) -> Bulk:
    """An INSERT of tasks that skips one already there (same sequence, index and attempt)
    instead of failing the whole batch's outcomes."""
    module = postgresql if dialect == "postgresql" else sqlite
    return Bulk(module.insert(_TASKS).on_conflict_do_nothing(), row=TASK_COLUMNS)


def record_answer(session: Session, task_id: int, answer: Answer, policy: Policy, rules: Rules,
                  now: datetime) -> AnswerOutcome:
    """Record the learner's ``answer`` to task ``task_id`` and reschedule accordingly.

    done/hard/not yet become FSRS ratings (Good/Hard/Again) that move the next task; not yet
    sends the same task again (up to ``max_repeats``); skip keeps the plan's timing; stop ends
    the sequence. A second answer to the same task changes nothing (``already``).

    Raises:
        UnknownTaskError: there is no task ``task_id``.
    """
    task = session.get(FollowupTask, task_id, with_for_update=True)
    if task is None:
        raise UnknownTaskError(f"no follow-up task {task_id}")
    sequence = task.sequence
    existing = session.scalar(select(FollowupAnswer).where(FollowupAnswer.task_id == task.id))
    if existing is not None:
        return AnswerOutcome(Answer(existing.answer), sequence.state, existing.next_due_at,
                             already=True)
    plan = policy.plan(sequence.plan_id)
    if answer is Answer.STOP or plan is None:
        stop_sequence(session, sequence, "learner asked to stop" if plan else
                      f"plan {sequence.plan_id} is no longer in the plans file")
        _save_answer(session, task, answer, None, now, None)
        return AnswerOutcome(answer, sequence.state, None)
    if task.status in (TaskStatus.SENT.value, TaskStatus.SENDING.value):
        task.status = TaskStatus.ANSWERED.value
    if sequence.state not in OPEN_STATES and sequence.state != SequenceState.FINISHED.value:
        _save_answer(session, task, answer, None, now, None)
        return AnswerOutcome(answer, sequence.state, None)
    return _reschedule(session, task, sequence, plan, answer, rules, now)


def _reschedule(session: Session, task: FollowupTask, sequence: FollowupSequence, plan: Plan,
                answer: Answer, rules: Rules, now: datetime) -> AnswerOutcome:
    repeat = answer is Answer.NOT_YET and task.attempt < rules.max_repeats
    following = task.task_index if repeat else task.task_index + 1
    planned = plan.gap_days(max(following, 1)) if following < len(plan.tasks) else \
        plan.gap_days(len(plan.tasks) - 1)
    result = review(sequence.card, answer, now, planned_days=planned,
                    first_gap_days=plan.spacing_days[0], longest_days=plan.spacing_days[-1])
    sequence.card = result.card
    due = now + timedelta(days=result.days)
    pending = _pending(session, sequence.id)
    next_due: datetime | None = None
    if repeat:
        if pending is not None:
            session.delete(pending)
            session.flush()
        if sequence.state == SequenceState.FINISHED.value:
            sequence.state, sequence.stop_reason = SequenceState.ACTIVE.value, None
        next_due = schedule_task(session, sequence, plan, rules, index=task.task_index,
                                 attempt=task.attempt + 1, due=due).due_at
    elif pending is not None and pending.task_index == following:
        if answer is not Answer.SKIP:
            pending.due_at = on_working_day(due, zone_for(sequence.learner_timezone,
                                                          rules.timezone)) \
                if rules.working_days_only else due
        next_due = pending.due_at
    elif pending is None and following < len(plan.tasks):
        next_due = schedule_task(session, sequence, plan, rules, index=following, attempt=0,
                                 due=due).due_at
    _save_answer(session, task, answer, result.rating, now, next_due)
    return AnswerOutcome(answer, sequence.state, next_due, repeated=repeat)


def _save_answer(session: Session, task: FollowupTask, answer: Answer, rating: int | None,
                 now: datetime, next_due: datetime | None) -> None:
    session.add(FollowupAnswer(task_id=task.id, sequence_id=task.sequence_id, answer=answer.value,
                               rating=rating, answered_at=now, next_due_at=next_due))
    session.flush()


def _pending(session: Session, sequence_id: int) -> FollowupTask | None:
    return session.scalar(select(FollowupTask).where(
        FollowupTask.sequence_id == sequence_id,
        FollowupTask.status == TaskStatus.SCHEDULED.value).order_by(FollowupTask.id).limit(1))


def stop_sequence(session: Session, sequence: FollowupSequence, reason: str,
                  state: SequenceState = SequenceState.STOPPED) -> bool:
    """End ``sequence`` (stopped or cancelled) and cancel its unsent tasks; False when it had
    already ended."""
    if sequence.state not in OPEN_STATES and sequence.state != SequenceState.FINISHED.value:
        return False
    sequence.state, sequence.stop_reason = state.value, reason
    session.execute(update(FollowupTask).where(
        FollowupTask.sequence_id == sequence.id,
        FollowupTask.status == TaskStatus.SCHEDULED.value).values(
        status=TaskStatus.CANCELLED.value).execution_options(synchronize_session=False))
    session.flush()
    return True


def set_paused(session: Session, sequence: FollowupSequence, paused: bool) -> bool:
    """Pause or resume ``sequence``; False when it is not in a state that allows it."""
    wanted, needed = ((SequenceState.PAUSED, SequenceState.ACTIVE) if paused
                      else (SequenceState.ACTIVE, SequenceState.PAUSED))
    if sequence.state != needed.value:
        return False
    sequence.state = wanted.value
    session.flush()
    return True


def is_opted_out(session: Session, site: str, learner_id: int) -> bool:
    return session.scalar(select(FollowupOptOut.id).where(
        FollowupOptOut.site == site, FollowupOptOut.learner_id == learner_id)) is not None


def opt_out(session: Session, site: str, learner_id: int, now: datetime,
            source: str = "learner") -> int:
    """Record that the learner wants no more follow-ups; stop their open sequences and return
    how many were stopped. Idempotent."""
    if not is_opted_out(session, site, learner_id):
        try:
            with session.begin_nested():
                session.add(FollowupOptOut(site=site, learner_id=learner_id, at=now,
                                           source=source))
        except IntegrityError:
            pass
    open_ones = session.scalars(select(FollowupSequence).where(
        FollowupSequence.site == site, FollowupSequence.learner_id == learner_id,
        FollowupSequence.state.in_(OPEN_STATES)))
    return sum(stop_sequence(session, s, "learner opted out") for s in list(open_ones))

