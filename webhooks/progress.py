"""Progress in the LMS feeds the schedule: a task the learner marked done there is answered;
and the other way round, an answer given on the practice page is marked in the LMS.

Where the practice channel lets the learner tick a delivered task (Totara goal tasks), this
reads the ticks of the site's sent, unanswered tasks and records each as the answer "done"
through :func:`webhooks.schedule.record_answer`, the same path as the learner's answer page,
so the next task moves the same way. Exactly once: an answered task is never read again, and
``record_answer`` keeps the first answer of a task (a click on the link first wins). Then the
tasks answered "done" or "hard" on the practice page are ticked in the LMS, once each
(``FollowupAnswer.lms_marked_at``), so the learner's goal shows what they said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import store
from store.models import FollowupAnswer, FollowupSequence, FollowupTask, TaskStatus
from webhooks.channel import PracticeChannel, SentPractice
from webhooks.clock import Clock
from webhooks.fsrs_adapter import Answer
from webhooks.policy import Policy
from webhooks.schedule import Rules, UnknownTaskError, record_answer

log = logging.getLogger(__name__)

#: Tasks sent longer ago than this are no longer asked about (their answer link expired too).
WINDOW = timedelta(days=60)
MAX_TASKS = 5000


@dataclass
class ProgressReport:
    """What one progress run did: tasks asked about, answers recorded, tasks answered
    already (through the link), tasks the LMS could not be asked about, and page answers
    marked in the LMS."""

    channel: str
    checked: int = 0
    done: int = 0
    already: int = 0
    unknown: int = 0
    marked: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def sent_unanswered(session: Session, site: str, since: datetime,
                    limit: int = MAX_TASKS) -> list[SentPractice]:
    """The site's tasks delivered since ``since`` that have no answer yet, oldest first."""
    answered = select(FollowupAnswer.task_id).where(FollowupAnswer.task_id == FollowupTask.id)
    rows = session.execute(
        select(FollowupTask.id, FollowupTask.sequence_id, FollowupTask.learner_id,
               FollowupSequence.course_id, FollowupSequence.competency_id,
               FollowupTask.clientmsgid, FollowupTask.msgid)
        .join(FollowupSequence, FollowupSequence.id == FollowupTask.sequence_id)
        .where(FollowupSequence.site == site, FollowupTask.status == TaskStatus.SENT.value,
               FollowupTask.msgid.is_not(None), FollowupTask.sent_at >= since,
               ~answered.exists())
        .order_by(FollowupTask.sent_at, FollowupTask.id).limit(limit))
    return [SentPractice(id=r.id, sequence_id=r.sequence_id, learner_id=r.learner_id,
                         course_id=r.course_id, competency_id=r.competency_id,
                         clientmsgid=r.clientmsgid, lms_ref=int(r.msgid)) for r in rows]


def read_progress(engine: Engine, channel: PracticeChannel, policy: Policy, rules: Rules,
                  clock: Clock, *, window: timedelta = WINDOW) -> ProgressReport:
    """Ask ``channel`` which sent tasks the learners marked done and record each as "done"
    (one transaction per answer, like the answer page). Never raises for an LMS fault: the
    tasks it could not ask about are counted as ``unknown`` and asked again next run.

    Raises:
        SQLAlchemyError: the store failed.
    """
    report = ProgressReport(channel.name)
    if not channel.reports_progress:
        return report
    factory = store.session_factory(engine)
    since = clock.now() - window
    with store.session_scope(factory) as session:
        tasks = sent_unanswered(session, rules.site, since)
    report.checked = len(tasks)
    if tasks:
        found = channel.progress(tasks)
        report.unknown, report.errors = len(found.unknown), list(found.errors)
        for task_id in found.done:
            if _record_done(factory, task_id, policy, rules, clock):
                report.done += 1
            else:
                report.already += 1
    _mark_page_answers(factory, channel, rules.site, since, clock, report)
    if tasks or report.marked or report.unknown:
        log.info("follow-up progress (%s): %d tasks asked about, %d done, %d answered "
                 "already, %d could not be asked, %d page answers marked in the LMS",
                 channel.name, report.checked, report.done, report.already, report.unknown,
                 report.marked)
    return report


def answered_unmarked(session: Session, site: str, since: datetime,
                      limit: int = MAX_TASKS) -> list[SentPractice]:
    """The site's tasks delivered since ``since`` and answered "done" or "hard" whose answer
    is not marked in the LMS yet, oldest answer first."""
    rows = session.execute(
        select(FollowupTask.id, FollowupTask.sequence_id, FollowupTask.learner_id,
               FollowupSequence.course_id, FollowupSequence.competency_id,
               FollowupTask.clientmsgid, FollowupTask.msgid)
        .join(FollowupSequence, FollowupSequence.id == FollowupTask.sequence_id)
        .join(FollowupAnswer, FollowupAnswer.task_id == FollowupTask.id)
        .where(FollowupSequence.site == site, FollowupTask.msgid.is_not(None),
               FollowupTask.sent_at >= since, FollowupAnswer.lms_marked_at.is_(None),
               FollowupAnswer.answer.in_([Answer.DONE.value, Answer.HARD.value]))
        .order_by(FollowupAnswer.answered_at, FollowupTask.id).limit(limit))
    return [SentPractice(id=r.id, sequence_id=r.sequence_id, learner_id=r.learner_id,
                         course_id=r.course_id, competency_id=r.competency_id,
                         clientmsgid=r.clientmsgid, lms_ref=int(r.msgid)) for r in rows]


def _mark_page_answers(factory: sessionmaker[Session], channel: PracticeChannel, site: str,
                       since: datetime, clock: Clock, report: ProgressReport) -> None:
    """Tick in the LMS what learners said they did on the practice page; remember each."""
    with store.session_scope(factory) as session:
        tasks = answered_unmarked(session, site, since)
    if not tasks:
        return
    found = channel.mark_done(tasks)
    report.unknown += len(found.unknown)
    report.errors += [e for e in found.errors if e not in report.errors]
    if found.done:
        with store.session_scope(factory) as session:
            _remember_marked(session, found.done, clock.now())
    report.marked = len(found.done)


def _remember_marked(session: Session, task_ids: list[int], now: datetime) -> None:
    session.execute(update(FollowupAnswer).where(
        FollowupAnswer.task_id.in_(task_ids), FollowupAnswer.lms_marked_at.is_(None)).values(
        lms_marked_at=now))


def _record_done(factory: sessionmaker[Session], task_id: int, policy: Policy, rules: Rules,
                 clock: Clock) -> bool:
    """Record "done" for ``task_id``; False when it had an answer already (or is gone)."""
    try:
        with store.session_scope(factory) as session:
            outcome = record_answer(session, task_id, Answer.DONE, policy, rules, clock.now())
            if not outcome.already:  # ticked in the LMS: nothing to mark there
                session.flush()
                _remember_marked(session, [task_id], clock.now())
    except UnknownTaskError:
        return False
    except IntegrityError:  # another run recorded it between the read and this write
        return False
    return not outcome.already
