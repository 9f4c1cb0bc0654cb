"""The dispatcher: claims due practice tasks a batch at a time and delivers them through the
site's practice channel (:mod:`webhooks.channel`: coach messages, or Totara goal tasks).

A task goes ``scheduled`` -> ``sending`` (committed before the LMS is called) -> ``sent``.
Claims, outcomes and next tasks are written set-based, a few statements per batch whatever
its size (:mod:`webhooks.claim`, :func:`webhooks.schedule.record_sent`); several dispatchers
never send one task twice, and the daily cap holds across them. A task left ``sending``
(crash, lost answer) may have reached the LMS: before it is sent again the channel looks it
up by the reference every delivery carries. The dispatcher never learns which LMS answers.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import BoundedSemaphore, Lock

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import store
from store.models import FollowupSequence
from webhooks import claim
from webhooks.channel import PracticeChannel
from webhooks.claim import Claimed, ClaimRules
from webhooks.clock import Clock
from webhooks.policy import Policy
from webhooks.schedule import Rules, SentTask, record_sent, stop_sequence
from webhooks.stops import StopCandidate, StopRules
from webhooks.timing import QuietWindow

log = logging.getLogger(__name__)

RETRY_AFTER_REFUSAL = timedelta(hours=1)
# After a failed send that was looked up and not found: wait, so that one run does not
# hammer a site that is down (the run would claim the same task again at once).
RETRY_AFTER_FAILURE = timedelta(minutes=5)
# Write transactions between two checkpoints of an SQLite store (each writes a batch).
CHECKPOINT_EVERY = 5


@dataclass(frozen=True)
class SendRules:
    """When and how much may be sent."""

    quiet: QuietWindow | None
    daily_cap: int = 1
    batch_size: int = 100
    lease: timedelta = timedelta(minutes=10)
    #: calls to the LMS in flight at most (the site's ``lms.concurrency``)
    workers: int = 4


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
    """Delivers the due tasks of one site through ``channel``."""

    engine: Engine
    channel: PracticeChannel
    policy: Policy
    rules: Rules
    send: SendRules
    clock: Clock
    stops: StopRules | None = None
    worker: str = field(default_factory=lambda: f"{socket.gethostname()[:20]}:{os.getpid()}:"
                        f"{uuid.uuid4().hex[:8]}")
    _lock: Lock = field(default_factory=Lock)
    _calls: BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self._calls = BoundedSemaphore(max(1, self.send.workers))

    def run(self, limit: int | None = None) -> DispatchReport:
        """Reconcile doubtful sends, then send due tasks until none is left (or ``limit``).

        ``send.workers`` calls to the LMS are in flight at most. A few more threads than that
        run, so that while those calls wait on the network the others claim, render and record
        their batches (the CPU work of a batch no longer delays the next call).
        """
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

        calls = max(1, self.send.workers)
        if calls == 1:
            loop()
        else:
            threads = calls + max(1, calls // 2)
            with ThreadPoolExecutor(max_workers=threads) as pool:
                for future in [pool.submit(loop) for _ in range(threads)]:
                    future.result()
        return report

    # -- claiming --------------------------------------------------------------------------

    def _session(self) -> Session:
        return self._sessions()

    @functools.cached_property
    def _sessions(self) -> sessionmaker[Session]:
        """The session factory, made once (it was made for every transaction)."""
        return store.session_factory(self.engine)

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A short write transaction (no LMS call inside); on SQLite in the store's writer
        queue, so the workers take turns instead of sleeping in SQLite's busy handler."""
        with store.sqlite_writer(self.engine), self._session() as session, session.begin():
            yield session
        # a batch's transaction writes ~100 rows: SQLite's log copied back every few of them,
        # by the store's thread, not inside a commit (store.checkpoint_wal)
        store.checkpoint_wal(self.engine, every=CHECKPOINT_EVERY)

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
        with self._calls:
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

    def _deliver(self, tasks: list[Claimed], report: DispatchReport) -> None:
        """Deliver one batch through the channel and write its outcomes in one transaction;
        doubtful deliveries are looked up before anything is sent again."""
        with self._calls:
            outcome = self.channel.deliver(tasks)
        now = self.clock.now()
        sent = [SentTask(t.id, t.sequence_id, t.task_index, outcome.sent[t.id])
                for t in tasks if t.id in outcome.sent]
        held: dict[str, list[int]] = defaultdict(list)
        for task_id, error in outcome.held.items():
            held[error].append(task_id)
        with self._writing() as session:
            self._mark_sent(session, sent, now)
            claim.mark_failed(session, outcome.refused)
            for error, ids in held.items():
                claim.release(session, ids, error, now + RETRY_AFTER_REFUSAL)
        self._count(report, sent=len(sent), failed=len(outcome.refused))
        if outcome.errors:
            with self._lock:
                report.errors.extend(outcome.errors)
        if outcome.doubtful:
            self._reconcile_ids(sorted(outcome.doubtful), report,
                                retry_at=now + RETRY_AFTER_FAILURE)
        if sent:
            with self._calls:
                self.channel.after_delivery([t for t in tasks if t.id in outcome.sent])

    def _mark_sent(self, session: Session, sent: list[SentTask], now: datetime) -> None:
        """Record what reached the learners and schedule what comes next (one transaction)."""
        record_sent(session, sent, self.policy, self.rules, now)

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
        """Mark sent what the LMS has; put the rest back (due at ``retry_at`` when given).

        The channel looks them up outside any transaction; a task whose look-up fails stays
        ``sending`` (claimed now) and is looked up again after the lease.
        """
        with self._session() as session:
            tasks = claim.load_claimed(session, ids)
        with self._calls:
            lookup = self.channel.find_delivered(tasks)
        found = [SentTask(t.id, t.sequence_id, t.task_index, lookup.found[t.id])
                 for t in tasks if t.id in lookup.found]
        with self._writing() as session:
            self._mark_sent(session, found, self.clock.now())
            claim.unsent(session, lookup.missing, retry_at)
        self._count(report, reconciled=len(found), resent_after_lookup=len(lookup.missing),
                    doubtful=len(lookup.unknown))
