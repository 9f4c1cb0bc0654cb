"""The dispatcher: claims due practice tasks row by row and sends them from the coach account.

A task goes ``scheduled`` -> ``sending`` (committed before the LMS is called) -> ``sent``.
Claims are conditional updates (``... WHERE status = 'scheduled'``), on PostgreSQL after
``SELECT ... FOR UPDATE SKIP LOCKED``, so several dispatchers never send one task twice. A
task left ``sending`` (crash, lost answer) may have reached Moodle: before it is sent again
the coach's sent messages are searched for its ``clientmsgid``, which every message carries
as a reference line, because ``core_message_get_messages`` does not return ``clientmsgid``.
"""

from __future__ import annotations

import html
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Lock

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

import store
from connector.errors import LmsConnectionError, LmsError
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from store.models import FollowupSequence, FollowupTask, SequenceState, TaskStatus
from webhooks.clock import Clock
from webhooks.policy import Policy
from webhooks.schedule import Rules, after_sent, stop_sequence
from webhooks.stops import LmsStopChecks, StopCandidate
from webhooks.timing import QuietWindow, day_bounds, quiet_until, zone_for

log = logging.getLogger(__name__)

RETRY_AFTER_REFUSAL = timedelta(hours=1)
# After a failed send that was looked up and not found: wait, so that one run does not
# hammer a site that is down (the run would claim the same task again at once).
RETRY_AFTER_FAILURE = timedelta(minutes=5)


@dataclass(frozen=True)
class SendRules:
    """When and how much may be sent."""

    quiet: QuietWindow | None
    daily_cap: int = 1
    batch_size: int = 100
    lease: timedelta = timedelta(minutes=10)
    workers: int = 4
    calendar_events: bool = False


@dataclass
class DispatchReport:
    """What one dispatch run did."""

    sent: int = 0
    reconciled: int = 0
    resent_after_lookup: int = 0
    deferred: int = 0
    stopped: int = 0
    failed: int = 0
    doubtful: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Dispatcher:
    """Sends the due tasks of one site. ``coach`` is the client of the coach's own token."""

    engine: Engine
    coach: MoodleClient
    coach_id: int
    policy: Policy
    rules: Rules
    send: SendRules
    clock: Clock
    link_for: Callable[[int, int], str]
    stops: LmsStopChecks | None = None
    worker: str = field(default_factory=lambda: f"{socket.gethostname()[:20]}:{os.getpid()}:"
                        f"{uuid.uuid4().hex[:8]}")
    _lock: Lock = field(default_factory=Lock)

    def run(self, limit: int | None = None) -> DispatchReport:
        """Reconcile doubtful sends, then send due tasks until none is left (or ``limit``)."""
        report = DispatchReport()
        self.reconcile(report)
        budget = [limit if limit is not None else 10**9]

        def loop() -> None:
            while True:
                with self._lock:
                    size = min(self.send.batch_size, budget[0])
                    budget[0] -= size
                if size <= 0 or not self._one_batch(size, report):
                    return

        workers = max(1, self.send.workers)
        if workers == 1:
            loop()
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(loop) for _ in range(workers)]:
                    future.result()
        return report

    # -- claiming --------------------------------------------------------------------------

    def _session(self) -> Session:
        return store.session_factory(self.engine)()

    def _one_batch(self, size: int, report: DispatchReport) -> bool:
        now = self.clock.now()
        deferred_before = report.deferred
        with self._session() as session, session.begin():
            claimed, contended = self._claim(session, size, now, report)
            ids = [t.id for t in claimed]
        if not ids:
            # Rows another dispatcher held are tried again; none at all means done.
            return report.deferred > deferred_before or contended
        with self._session() as session, session.begin():
            tasks = self._load(session, ids)
            tasks = self._apply_stops(session, tasks, report)
        if tasks:
            self._deliver(tasks, report)
        return True

    def _claim(self, session: Session, size: int, now: datetime,
               report: DispatchReport) -> tuple[list[FollowupTask], bool]:
        """Claim up to ``size`` due tasks; also say whether some were held by another."""
        statement = (
            select(FollowupTask.id, FollowupTask.learner_id, FollowupSequence.learner_timezone)
            .join(FollowupSequence, FollowupSequence.id == FollowupTask.sequence_id)
            .where(FollowupTask.status == TaskStatus.SCHEDULED.value,
                   FollowupTask.due_at <= now, FollowupSequence.site == self.rules.site,
                   FollowupSequence.state == SequenceState.ACTIVE.value)
            .order_by(FollowupTask.due_at, FollowupTask.id).limit(size))
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            statement = statement.with_for_update(skip_locked=True, of=FollowupTask)
        rows = session.execute(statement).all()
        if not rows:
            return [], False
        counts = self._sent_today(session, {r.learner_id for r in rows}, now)
        taken: list[int] = []
        contended = False
        for task_id, learner_id, zone_name in rows:
            zone = zone_for(zone_name, self.rules.timezone)
            later = quiet_until(now, zone, self.send.quiet)
            if later is None and counts.get(learner_id, 0) >= self.send.daily_cap:
                later = day_bounds(now, zone)[1]
            if later is None and postgres and not session.scalar(
                    select(func.pg_try_advisory_xact_lock(_learner_key(learner_id)))):
                contended = True
                continue  # another dispatcher is deciding about this learner right now
            if later is not None:
                session.execute(update(FollowupTask).where(FollowupTask.id == task_id)
                                .values(due_at=later))
                with self._lock:
                    report.deferred += 1
                continue
            done = session.execute(
                update(FollowupTask)
                .where(FollowupTask.id == task_id,
                       FollowupTask.status == TaskStatus.SCHEDULED.value)
                .values(status=TaskStatus.SENDING.value, claimed_at=now,
                        claimed_by=self.worker, sends=FollowupTask.sends + 1)
                .execution_options(synchronize_session=False))
            if getattr(done, "rowcount", 0) == 1:
                taken.append(task_id)
                counts[learner_id] = counts.get(learner_id, 0) + 1
            else:
                contended = True
        return (self._load(session, taken) if taken else []), contended

    def _sent_today(self, session: Session, learners: set[int],
                    now: datetime) -> dict[int, int]:
        """Messages each learner got (or is being sent) in the last day, counted in their own
        local day: rows of the last 24 h are read, then filtered per zone."""
        rows = session.execute(
            select(FollowupTask.learner_id, FollowupTask.sent_at, FollowupTask.claimed_at,
                   FollowupTask.status, FollowupSequence.learner_timezone)
            .join(FollowupSequence, FollowupSequence.id == FollowupTask.sequence_id)
            .where(FollowupTask.learner_id.in_(learners),
                   or_(FollowupTask.sent_at >= now - timedelta(days=1),
                       FollowupTask.status == TaskStatus.SENDING.value))).all()
        counts: dict[int, int] = {}
        for learner, sent_at, claimed_at, status, zone_name in rows:
            start, end = day_bounds(now, zone_for(zone_name, self.rules.timezone))
            when = sent_at or claimed_at
            if status == TaskStatus.SENDING.value or (when is not None and start <= when < end):
                counts[learner] = counts.get(learner, 0) + 1
        return counts

    @staticmethod
    def _load(session: Session, ids: Sequence[int]) -> list[FollowupTask]:
        return list(session.scalars(
            select(FollowupTask).where(FollowupTask.id.in_(ids))
            .options(selectinload(FollowupTask.sequence)).order_by(FollowupTask.id)))

    def _apply_stops(self, session: Session, tasks: list[FollowupTask],
                     report: DispatchReport) -> list[FollowupTask]:
        if self.stops is None:
            return tasks
        reasons = self.stops.reasons(
            StopCandidate(t.sequence_id, t.learner_id, t.sequence.course_id,
                          t.sequence.competency_id) for t in tasks)
        keep = []
        for task in tasks:
            reason = reasons.get(task.sequence_id)
            if reason is None:
                keep.append(task)
                continue
            task.status = TaskStatus.CANCELLED.value
            task.error = reason
            stop_sequence(session, task.sequence, reason)
            report.stopped += 1
        return keep

    # -- sending -----------------------------------------------------------------------------

    def message_html(self, task: FollowupTask) -> str:
        """The message body: the task, the answer link, and the reference the reconciliation
        looks for."""
        link = html.escape(self.link_for(task.id, task.learner_id), quote=True)
        text = html.escape(task.text).replace("\n", "<br />")
        return (f"<p>{text}</p><p><a href=\"{link}\">Tell us how it went</a> "
                f"(done, hard, not yet, skip) &ndash; one click, no login.</p>"
                f"<p><small>Ref: {task.clientmsgid}</small></p>")

    def _deliver(self, tasks: list[FollowupTask], report: DispatchReport) -> None:
        messages = [ep.OutgoingMessage(touserid=t.learner_id, text=self.message_html(t),
                                       textformat=1, clientmsgid=t.clientmsgid) for t in tasks]
        try:
            results = self.coach.send_messages(messages)
        except LmsConnectionError as exc:
            # The request may have reached Moodle: look each one up before any re-send.
            log.warning("sending %d follow-ups: %s; looking them up", len(tasks), exc)
            with self._lock:
                report.errors.append(str(exc))
            self._reconcile_ids([t.id for t in tasks], report,
                                retry_at=self.clock.now() + RETRY_AFTER_FAILURE)
            return
        except LmsError as exc:
            log.error("Moodle refused %d follow-up messages: %s", len(tasks), exc)
            self._release([t.id for t in tasks], str(exc), report)
            return
        now = self.clock.now()
        with self._session() as session, session.begin():
            for task, result in zip(self._load(session, [t.id for t in tasks]), results,
                                    strict=True):
                if result.msgid > 0:
                    self._mark_sent(session, task, result.msgid, now)
                    with self._lock:
                        report.sent += 1
                else:
                    task.status, task.error = TaskStatus.FAILED.value, result.errormessage
                    with self._lock:
                        report.failed += 1
                    log.error("Moodle refused follow-up %s to learner %s: %s",
                              task.clientmsgid, task.learner_id, result.errormessage)
        if self.send.calendar_events:
            self._calendar(tasks)

    def _mark_sent(self, session: Session, task: FollowupTask, msgid: int,
                   now: datetime) -> None:
        task.status, task.msgid, task.sent_at, task.error = TaskStatus.SENT.value, msgid, now, None
        plan = self.policy.plan(task.sequence.plan_id)
        if plan is not None:
            after_sent(session, task, plan, self.rules, now)

    def _release(self, ids: list[int], error: str, report: DispatchReport) -> None:
        """Back to scheduled, an hour later: Moodle answered, so nothing was sent."""
        later = self.clock.now() + RETRY_AFTER_REFUSAL
        with self._session() as session, session.begin():
            session.execute(update(FollowupTask).where(FollowupTask.id.in_(ids)).values(
                status=TaskStatus.SCHEDULED.value, due_at=later, error=error[:500]))
        with self._lock:
            report.errors.append(error)

    def _calendar(self, tasks: list[FollowupTask]) -> None:
        events = [ep.CalendarEventIn(name=f"Practice: {t.sequence.course_name}"[:250],
                                     description=html.escape(t.text), eventtype="user",
                                     timestart=int(self.clock.now().timestamp()))
                  for t in tasks]
        try:
            self.coach.create_calendar_events(events)
        except LmsError as exc:
            log.warning("calendar events for %d follow-ups not created: %s", len(events), exc)

    # -- reconciliation ------------------------------------------------------------------------

    def reconcile(self, report: DispatchReport) -> None:
        """Look up every task left ``sending`` for longer than the lease."""
        now = self.clock.now()
        with self._session() as session, session.begin():
            statement = select(FollowupTask.id).where(
                FollowupTask.status == TaskStatus.SENDING.value,
                FollowupTask.claimed_at < now - self.send.lease)
            if session.get_bind().dialect.name == "postgresql":
                statement = statement.with_for_update(skip_locked=True)
            stale = list(session.scalars(statement))
            mine = []
            for task_id in stale:
                done = session.execute(
                    update(FollowupTask).where(FollowupTask.id == task_id,
                                               FollowupTask.status == TaskStatus.SENDING.value)
                    .values(claimed_at=now, claimed_by=self.worker)
                    .execution_options(synchronize_session=False))
                if getattr(done, "rowcount", 0) == 1:
                    mine.append(task_id)
        if mine:
            self._reconcile_ids(mine, report)

    def _reconcile_ids(self, ids: list[int], report: DispatchReport,
                       retry_at: datetime | None = None) -> None:
        """Mark sent what Moodle has; put the rest back (due at ``retry_at`` when given)."""
        with self._session() as session, session.begin():
            for task in self._load(session, ids):
                try:
                    sent = self.coach.messages_sent(self.coach_id, task.learner_id)
                except LmsError as exc:
                    log.warning("could not look up follow-up %s: %s", task.clientmsgid, exc)
                    with self._lock:
                        report.doubtful += 1
                    continue
                marker = f"Ref: {task.clientmsgid}<"
                found = next((m for m in sent if marker in m.fullmessagehtml + m.text
                              + m.smallmessage), None)
                if found is not None:
                    self._mark_sent(session, task, found.id, self.clock.now())
                    with self._lock:
                        report.reconciled += 1
                else:
                    task.status = TaskStatus.SCHEDULED.value
                    if retry_at is not None:
                        task.due_at = retry_at
                    with self._lock:
                        report.resent_after_lookup += 1


def _learner_key(learner_id: int) -> int:
    """A PostgreSQL advisory lock key for one learner (2^40 keeps it clear of other keys)."""
    return (1 << 40) + learner_id

