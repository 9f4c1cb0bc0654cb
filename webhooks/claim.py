"""Claiming due practice tasks a batch at a time, and the status writes that undo a claim.

One batch is claimed in one transaction with a fixed number of statements, whatever its size:

1. the candidates: the oldest due tasks of the site's active sequences, with what a message
   needs. On PostgreSQL they are selected ``FOR UPDATE SKIP LOCKED`` (a row another
   dispatcher holds is skipped) and the same statement takes a transaction-level advisory lock
   per candidate learner (``pg_try_advisory_xact_lock``, never waits); a learner another
   dispatcher holds is left to it, and the run tries again.
2. what each candidate learner got in their own local day: one count. It is read after the
   learner locks are held, and under READ COMMITTED each statement reads a fresh snapshot, so
   it sees every claim committed by any dispatcher for these learners (a learner's lock is
   released only when its holder commits). That is what keeps the daily cap exact: a count in
   the claim statement itself would read a snapshot taken before its locks were granted.
3. the claim: one ``UPDATE ... WHERE id IN (...) AND status = 'scheduled' RETURNING id``.
4. the deferred (quiet hours, cap reached) moved to when they may go, in one executemany.

On SQLite every transaction is ``BEGIN IMMEDIATE``: writers are serialised, so no other claim
can come between 1 and 3.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from typing import cast as typed
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from store.expressions import unindexed
from store.models import FollowupSequence, FollowupTask, SequenceState, TaskStatus
from webhooks.timing import QuietWindow, day_bounds, quiet_until, zone_for

# Advisory lock keys of learners: 2^40 + learner id keeps them clear of other keys.
LEARNER_LOCK_BASE = 1 << 40

_TASKS = typed(Table, FollowupTask.__table__)


class Claimed(NamedTuple):
    """A task claimed for sending, with what its message, stop rules and outcome need.

    A named tuple: a dispatch makes one per task, straight from the claim's row (its first
    columns, in this order), and a frozen dataclass cost several times as much to build."""

    id: int
    sequence_id: int
    learner_id: int
    task_index: int
    text: str
    clientmsgid: str
    course_id: int
    competency_id: int | None
    course_name: str


@dataclass(frozen=True)
class ClaimRules:
    """Whose tasks are claimed, and when a learner may get one."""

    site: str
    timezone: str
    quiet: QuietWindow | None
    daily_cap: int


@dataclass
class Batch:
    """What one claim did: the tasks now ``sending``, how many were deferred, and whether
    some due ones were held by another dispatcher (so the run should look again)."""

    tasks: list[Claimed] = field(default_factory=list)
    deferred: int = 0
    contended: bool = False


def claim_batch(session: Session, rules: ClaimRules, size: int, now: datetime,
                worker: str) -> Batch:
    """Claim up to ``size`` due tasks for ``worker`` inside the caller's transaction; defer
    those in the learner's quiet hours or over the learner's daily cap. Commit before the LMS
    is called, so a crash leaves the tasks ``sending`` for :func:`reclaim_stale`."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    rows = connection.execute(_candidates(postgres),
                              {"site": rules.site, "now": now, "size": size}).all()
    batch = Batch()
    if not rows:
        return batch
    zones = _Zones(rules.timezone, now)
    later: dict[int, datetime] = {}
    open_rows = []
    for row in rows:
        quiet = zones.quiet_until(row.learner_timezone, rules.quiet)
        if quiet is not None:
            later[row.id] = quiet
        elif postgres and not row.locked:
            batch.contended = True  # another dispatcher is deciding about this learner
        else:
            open_rows.append(row)
    counts = _sent_today(connection, {r.learner_id for r in open_rows}, now, zones)
    take: dict[int, Row[Any]] = {}
    for row in open_rows:
        if counts.get(row.learner_id, 0) >= rules.daily_cap:
            later[row.id] = zones.day_end(row.learner_timezone)
        else:
            take[row.id] = row
            counts[row.learner_id] = counts.get(row.learner_id, 0) + 1
    if take:
        claimed = set(connection.scalars(_CLAIM, {"ids": list(take), "now": now,
                                                   "worker": worker}))
        batch.contended |= len(claimed) < len(take)
        batch.tasks = [_claimed(take[i]) for i in sorted(claimed)]
    if later:
        connection.execute(_DEFER, [{"b_id": i, "b_due": due} for i, due in later.items()])
        batch.deferred = len(later)
    return batch


def load_claimed(session: Session, ids: Iterable[int]) -> list[Claimed]:
    """The tasks ``ids`` as :class:`Claimed`, by id."""
    statement = _columns().where(FollowupTask.id.in_(list(ids))).order_by(FollowupTask.id)
    return [_claimed(row) for row in session.execute(statement)]


def reclaim_stale(session: Session, site: str, lease: timedelta, now: datetime,
                  worker: str) -> list[int]:
    """Take over the site's tasks left ``sending`` for longer than ``lease`` (their send may
    have reached the LMS) for a look-up, in one statement; their ids."""
    stale = (select(_TASKS.c.id)
             .where(_TASKS.c.status == TaskStatus.SENDING.value,
                    _TASKS.c.claimed_at < now - lease,
                    _TASKS.c.sequence_id.in_(select(FollowupSequence.id)
                                             .where(FollowupSequence.site == site))))
    if session.get_bind().dialect.name == "postgresql":
        stale = stale.with_for_update(skip_locked=True)
    return sorted(session.scalars(
        update(_TASKS).where(_TASKS.c.id.in_(stale),
                             _TASKS.c.status == TaskStatus.SENDING.value)
        .values(claimed_at=now, claimed_by=worker).returning(_TASKS.c.id)))


def mark_failed(session: Session, errors: dict[int, str]) -> None:
    """Moodle refused these messages one by one (task id -> its error): failed, for good."""
    if errors:
        session.connection().execute(_SET_STATUS, [
            {"b_id": i, "b_status": TaskStatus.FAILED.value, "b_error": e}
            for i, e in errors.items()])


def release(session: Session, ids: Sequence[int], error: str, due: datetime) -> None:
    """Back to ``scheduled`` at ``due``: Moodle answered with an error, so nothing was sent."""
    session.execute(update(_TASKS).where(_TASKS.c.id.in_(ids)).values(
        status=TaskStatus.SCHEDULED.value, due_at=due, error=error[:500]))


def unsent(session: Session, ids: Sequence[int], due: datetime | None) -> None:
    """Back to ``scheduled`` (at ``due`` when given): looked up in Moodle and not there."""
    if ids:
        values: dict[str, object] = {"status": TaskStatus.SCHEDULED.value}
        if due is not None:
            values["due_at"] = due
        session.execute(update(_TASKS).where(
            _TASKS.c.id.in_(ids), _TASKS.c.status == TaskStatus.SENDING.value).values(values))


def cancel(session: Session, reasons: dict[int, str]) -> None:
    """Cancel claimed tasks a stop rule caught (task id -> the reason)."""
    if reasons:
        session.connection().execute(_SET_STATUS, [
            {"b_id": i, "b_status": TaskStatus.CANCELLED.value, "b_error": r}
            for i, r in reasons.items()])


# The statements of every batch are built once (SQLAlchemy caches their compiled form), so a
# batch costs no statement building.

def _columns(*extra: Any) -> Select[*tuple[Any, ...]]:
    return (select(FollowupTask.id, FollowupTask.sequence_id, FollowupTask.learner_id,
                   FollowupTask.task_index, FollowupTask.text, FollowupTask.clientmsgid,
                   FollowupSequence.course_id, FollowupSequence.competency_id,
                   FollowupSequence.course_name, FollowupSequence.learner_timezone, *extra)
            .join(FollowupSequence, FollowupSequence.id == FollowupTask.sequence_id))


@functools.cache
def _candidates(postgres: bool) -> Select[*tuple[Any, ...]]:
    """The oldest due tasks of the site's active sequences (parameters: site, now, size);
    on PostgreSQL row-locked, skipping locked rows, with each learner's try-lock result."""
    # PostgreSQL's outer query orders by due_at, so the CTE carries it; SQLite needs no
    # due time in Python (each would be parsed from text for nothing)
    due = (_columns(*([FollowupTask.due_at] if postgres else []))
           .where(FollowupTask.status == TaskStatus.SCHEDULED.value,
                  FollowupTask.due_at <= bindparam("now"),
                  FollowupSequence.site == bindparam("site"),
                  FollowupSequence.state == SequenceState.ACTIVE.value)
           .order_by(FollowupTask.due_at, FollowupTask.id)
           .limit(bindparam("size", type_=Integer)))
    if not postgres:
        return due
    held = (due.with_for_update(skip_locked=True, of=FollowupTask)
            .cte("due_tasks").prefix_with("MATERIALIZED"))
    locked = func.pg_try_advisory_xact_lock(
        literal(LEARNER_LOCK_BASE, BigInteger) + cast(held.c.learner_id, BigInteger))
    return select(held, locked.label("locked")).order_by(held.c.due_at, held.c.id)


_CLAIM = (update(_TASKS)
          .where(_TASKS.c.id.in_(bindparam("ids", expanding=True)),
                 unindexed(_TASKS.c.status) == TaskStatus.SCHEDULED.value)
          .values(status=TaskStatus.SENDING.value, claimed_at=bindparam("now"),
                  claimed_by=bindparam("worker"), sends=_TASKS.c.sends + 1)
          .returning(_TASKS.c.id))
_DEFER = update(_TASKS).where(_TASKS.c.id == bindparam("b_id")).values(
    due_at=bindparam("b_due"))
_SET_STATUS = update(_TASKS).where(_TASKS.c.id == bindparam("b_id")).values(
    status=bindparam("b_status"), error=bindparam("b_error"))
_SENT_RECENTLY = (
    select(FollowupTask.learner_id, FollowupTask.sent_at, FollowupTask.status,
           FollowupSequence.learner_timezone)
    .join(FollowupSequence, FollowupSequence.id == FollowupTask.sequence_id)
    .where(FollowupTask.learner_id.in_(bindparam("learners", expanding=True)),
           # each learner's few tasks by the learner index, then this test (SQLite otherwise
           # also walked the status index: every task being sent, by any worker)
           or_(FollowupTask.sent_at >= bindparam("since"),
               unindexed(_TASKS.c.status) == TaskStatus.SENDING.value)))


def _sent_today(connection: Connection, learners: set[int], now: datetime,
                zones: _Zones) -> dict[int, int]:
    """Messages each learner got (or is being sent) in their own local day: rows sent in the
    last 24 h or being sent are read, then counted against each learner's day."""
    if not learners:
        return {}
    rows = connection.execute(_SENT_RECENTLY, {"learners": list(learners),
                                               "since": now - timedelta(days=1)})
    counts: dict[int, int] = {}
    for learner, sent_at, status, zone_name in rows:
        start, end = zones.day(zone_name)
        if status == TaskStatus.SENDING.value or (sent_at is not None and start <= sent_at < end):
            counts[learner] = counts.get(learner, 0) + 1
    return counts


def _claimed(row: Row[Any]) -> Claimed:
    return Claimed._make(row[:_CLAIMED_WIDTH])


# _claimed takes the row's first columns as they come: _columns() lists Claimed's fields first
_CLAIMED_WIDTH = len(Claimed._fields)


class _Zones:
    """Quiet hours and day bounds at ``now``, worked out once per learner time zone."""

    def __init__(self, default: str, now: datetime) -> None:
        self._default, self._now = default, now
        self._zones: dict[str | None, ZoneInfo] = {}
        self._quiet: dict[str | None, datetime | None] = {}
        self._days: dict[str | None, tuple[datetime, datetime]] = {}

    def _zone(self, name: str | None) -> ZoneInfo:
        if name not in self._zones:
            self._zones[name] = zone_for(name, self._default)
        return self._zones[name]

    def quiet_until(self, name: str | None, window: QuietWindow | None) -> datetime | None:
        if name not in self._quiet:
            self._quiet[name] = quiet_until(self._now, self._zone(name), window)
        return self._quiet[name]

    def day(self, name: str | None) -> tuple[datetime, datetime]:
        if name not in self._days:
            self._days[name] = day_bounds(self._now, self._zone(name))
        return self._days[name]

    def day_end(self, name: str | None) -> datetime:
        return self.day(name)[1]
