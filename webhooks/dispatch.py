"""The dispatcher: claims due practice tasks a batch at a time and sends them from the coach.

A task goes ``scheduled`` -> ``sending`` (committed before the LMS is called) -> ``sent``.
Claims, outcomes and next tasks are written set-based, a few statements per batch whatever
its size (:mod:`webhooks.claim`, :func:`webhooks.schedule.record_sent`); several dispatchers
never send one task twice, and the daily cap holds across them. A task left ``sending``
(crash, lost answer) may have reached Moodle: before it is sent again the coach's sent
messages are searched for its ``clientmsgid``, which every message carries as a reference
line, because ``core_message_get_messages`` does not return ``clientmsgid``.
"""

from __future__ import annotations

import html
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Lock

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import store
from connector.errors import LmsConnectionError, LmsError
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from store.models import FollowupSequence
from webhooks import claim
from webhooks.claim import Claimed, ClaimRules
from webhooks.clock import Clock
from webhooks.policy import Policy
from webhooks.schedule import Rules, SentTask, record_sent, stop_sequence
from webhooks.stops import LmsStopChecks, StopCandidate
from webhooks.timing import QuietWindow

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

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A short write transaction (no LMS call inside); on SQLite in the store's writer
        queue, so the workers take turns instead of sleeping in SQLite's busy handler."""
        with store.sqlite_writer(self.engine), self._session() as session, session.begin():
            yield session

    def _count(self, report: DispatchReport, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(report, name, getattr(report, name) + amount)

    def _one_batch(self, size: int, report: DispatchReport) -> bool:
        """Claim one batch (committed), apply the stop rules, send; False when none was due."""
        rules = ClaimRules(site=self.rules.site, timezone=self.rules.timezone,
                           quiet=self.send.quiet, daily_cap=self.send.daily_cap)
        with self._writing() as session:
            batch = claim.claim_batch(session, rules, size, self.clock.now(), self.worker)
        self._count(report, deferred=batch.deferred)
        if not batch.tasks:
            # Rows another dispatcher held are tried again; none at all means done.
            return batch.deferred > 0 or batch.contended
        tasks = self._apply_stops(batch.tasks, report)
        if tasks:
            self._deliver(tasks, report)
        return True

    def _apply_stops(self, tasks: list[Claimed], report: DispatchReport) -> list[Claimed]:
        """Cancel the tasks whose sequence a stop rule ends (asked outside any transaction);
        the others."""
        if self.stops is None:
            return tasks
        reasons = self.stops.reasons(
            StopCandidate(t.sequence_id, t.learner_id, t.course_id, t.competency_id)
            for t in tasks)
        if not reasons:
            return tasks
        with self._writing() as session:
            claim.cancel(session, {t.id: reasons[t.sequence_id] for t in tasks
                                   if t.sequence_id in reasons})
            for sequence in session.scalars(select(FollowupSequence).where(
                    FollowupSequence.id.in_(list(reasons)))):
                stop_sequence(session, sequence, reasons[sequence.id])
        self._count(report, stopped=sum(t.sequence_id in reasons for t in tasks))
        return [t for t in tasks if t.sequence_id not in reasons]

    # -- sending -----------------------------------------------------------------------------

    def message_html(self, task: Claimed) -> str:
        """The message body: the task, the answer link, and the reference the reconciliation
        looks for."""
        link = html.escape(self.link_for(task.id, task.learner_id), quote=True)
        text = html.escape(task.text).replace("\n", "<br />")
        return (f"<p>{text}</p><p><a href=\"{link}\">Tell us how it went</a> "
                f"(done, hard, not yet, skip) &ndash; one click, no login.</p>"
                f"<p><small>Ref: {task.clientmsgid}</small></p>")

    def _deliver(self, tasks: list[Claimed], report: DispatchReport) -> None:
        """Send one batch in one call and write its outcomes in bulk."""
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
            with self._writing() as session:
                claim.release(session, [t.id for t in tasks], str(exc),
                              self.clock.now() + RETRY_AFTER_REFUSAL)
            with self._lock:
                report.errors.append(str(exc))
            return
        sent: list[SentTask] = []
        failed: dict[int, str] = {}
        for task, result in zip(tasks, results, strict=True):
            if result.msgid > 0:
                sent.append(SentTask(task.id, task.sequence_id, task.task_index, result.msgid))
            else:
                failed[task.id] = result.errormessage
                log.error("Moodle refused follow-up %s to learner %s: %s",
                          task.clientmsgid, task.learner_id, result.errormessage)
        with self._writing() as session:
            self._mark_sent(session, sent, self.clock.now())
            claim.mark_failed(session, failed)
        self._count(report, sent=len(sent), failed=len(failed))
        if self.send.calendar_events:
            self._calendar(tasks)

    def _mark_sent(self, session: Session, sent: list[SentTask], now: datetime) -> None:
        """Record what reached the learners and schedule what comes next (one transaction)."""
        record_sent(session, sent, self.policy, self.rules, now)

    def _calendar(self, tasks: list[Claimed]) -> None:
        events = [ep.CalendarEventIn(name=f"Practice: {t.course_name}"[:250],
                                     description=html.escape(t.text), eventtype="user",
                                     timestart=int(self.clock.now().timestamp()))
                  for t in tasks]
        try:
            self.coach.create_calendar_events(events)
        except LmsError as exc:
            log.warning("calendar events for %d follow-ups not created: %s", len(events), exc)

    # -- reconciliation ------------------------------------------------------------------------

    def reconcile(self, report: DispatchReport) -> None:
        """Look up every task of this site left ``sending`` for longer than the lease."""
        with self._writing() as session:
            mine = claim.reclaim_stale(session, self.rules.site, self.send.lease,
                                       self.clock.now(), self.worker)
        if mine:
            self._reconcile_ids(mine, report)

    def _reconcile_ids(self, ids: list[int], report: DispatchReport,
                       retry_at: datetime | None = None) -> None:
        """Mark sent what Moodle has; put the rest back (due at ``retry_at`` when given).

        One look-up per learner, outside any transaction; a task whose look-up fails stays
        ``sending`` (claimed now) and is looked up again after the lease.
        """
        with self._session() as session:
            tasks = claim.load_claimed(session, ids)
        by_learner: dict[int, list[Claimed]] = defaultdict(list)
        for task in tasks:
            by_learner[task.learner_id].append(task)
        found: list[SentTask] = []
        missing: list[int] = []
        doubtful = 0
        for learner, group in by_learner.items():
            try:
                messages = self.coach.messages_sent(self.coach_id, learner)
            except LmsError as exc:
                log.warning("could not look up %d follow-ups to learner %s: %s", len(group),
                            learner, exc)
                doubtful += len(group)
                continue
            for task in group:
                marker = f"Ref: {task.clientmsgid}<"
                hit = next((m for m in messages
                            if marker in m.fullmessagehtml + m.text + m.smallmessage), None)
                if hit is None:
                    missing.append(task.id)
                else:
                    found.append(SentTask(task.id, task.sequence_id, task.task_index, hit.id))
        with self._writing() as session:
            self._mark_sent(session, found, self.clock.now())
            claim.unsent(session, missing, retry_at)
        self._count(report, reconciled=len(found), resent_after_lookup=len(missing),
                    doubtful=doubtful)
