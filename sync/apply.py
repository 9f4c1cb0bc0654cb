"""Carry out a plan against Moodle, stage by stage, journaling every step as it lands.

Steps of one stage run in parallel up to the client's concurrency; a stage starts only when
the previous one has finished, and the first failing stage is the last one run. An applier may
join stages into one phase (:meth:`StagedApplier.phases`) in which a lane starts as soon as
the one step it depends on is done (:meth:`StagedApplier.needs`: a parent's create), not when
the whole previous stage is; after a failure no lane of a later stage starts. Every
outcome is written to the store's journal the moment it is known, so an interrupted run
leaves an exact record. Creates are not blindly retried: when a create may have reached
Moodle (timeout, lost connection) or Moodle says the idnumber is taken, the object is looked
up by idnumber and adopted instead of created twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from typing_extensions import TypeVar as TypeVarWithDefault

import store
from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.pacing import CallStats
from sync.actual import ActualFramework
from sync.plan import (
    CreateCompetency,
    CreateFramework,
    MissingCompetency,
    MoveCompetency,
    Op,
    Plan,
    RelateCompetencies,
    ReorderChildren,
    UpdateCompetency,
    UpdateFramework,
)

log = logging.getLogger(__name__)

RUN_KIND = "frameworks"
RELATED_KIND = "related_competencies"  # lms_objects rows: relations lms-sidecar made
Progress = Callable[[Op, str], None]
C = TypeVar("C")


class LmsClient(Protocol):
    """What the staged applier needs of any LMS's client: its call count and how many calls
    may run at once (the Moodle and the Totara client both offer them)."""

    @property
    def stats(self) -> CallStats: ...

    @property
    def concurrency(self) -> int: ...


#: The client the handlers call; Moodle's unless an applier names another.
L = TypeVarWithDefault("L", bound=LmsClient, default=MoodleClient)


@dataclass(frozen=True)
class StepOutcome:
    op: Op
    status: str  # done | skipped | failed
    detail: str = ""
    lms_id: int | None = None


@dataclass
class ApplyResult:
    """What an apply did: each step's outcome, the calls it cost, how long it took."""

    run_id: int
    outcomes: list[StepOutcome] = field(default_factory=list)
    api_calls: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> list[StepOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(frozen=True)
class Applied:
    """The outcome of one apply of any kind: the plan carried out, its result, and the runs
    it closed because an earlier apply was interrupted."""

    plan: Plan
    result: ApplyResult
    resumed: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def run_id(self) -> int:
        return self.result.run_id

    def describe(self) -> str:
        """One line: the steps done, time and calls; or how many failed."""
        r = self.result
        if r.ok:
            return f"{r.count('done')} steps in {r.seconds:.1f} s, {r.api_calls} API calls"
        return f"{len(r.failed)} step(s) failed (run {r.run_id})"


class _Ids:
    """Moodle ids of frameworks and competencies by idnumber, filled as creates land."""

    def __init__(self, actual: dict[str, ActualFramework | None]) -> None:
        self.frameworks: dict[str, int] = {}
        self.competencies: dict[tuple[str, str], int] = {}
        for idnumber, current in actual.items():
            if current is not None:
                self.frameworks[idnumber] = current.framework.id
                for row in current.competencies:
                    self.competencies[(idnumber, row.idnumber)] = row.id

    def competency(self, framework: str, idnumber: str | None) -> int:
        """The Moodle id, 0 for None (the top level). Raises KeyError when unknown."""
        return 0 if idnumber is None else self.competencies[(framework, idnumber)]


class StagedApplier(Generic[C, L]):
    """Carries out any plan stage by stage in parallel lanes, journaling every step.

    A subclass names its run kind, maps each op type to a handler ``(self, op, context)``,
    and may group ops into lanes (:meth:`lane`) and remember what it made (:meth:`remember`).
    """

    run_kind: ClassVar[str] = RUN_KIND
    #: Seconds the journal waits after an outcome for others to share its transaction.
    journal_gather: ClassVar[float] = 0.005
    handlers: ClassVar[Mapping[type[Op], Callable[[Any, Any, Any], StepOutcome]]] = {}

    def __init__(self, client: L, sessions: sessionmaker[Session], site: str,
                 *, progress: Progress | None = None) -> None:
        self.client = client
        self.sessions = sessions
        self.site = site
        self.progress = progress

    def lane(self, op: Op) -> tuple[str, ...]:
        """Ops of one lane run in order; lanes run in parallel. Default: one op per lane."""
        return (op.op_id,)

    def phases(self, plan: Plan) -> list[list[Op]]:
        """The plan's steps in the groups run one after another. Default: one per stage."""
        return plan.stages()

    def needs(self, op: Op) -> str | None:
        """The ``op_id`` of the step that must be done before the lane of ``op`` may start,
        when that step is in the same phase; None: the lane may start with its phase.
        Default: None (within a phase of one stage, lanes never wait for one another)."""
        return None

    def remember(self, session: Session, outcome: StepOutcome) -> None:
        """Record in the store what a finished step made or removed; nothing by default."""

    def remember_all(self, session: Session, outcomes: list[StepOutcome]) -> None:
        """Record what a batch of finished steps made; by default :meth:`remember` each."""
        for outcome in outcomes:
            self.remember(session, outcome)

    def run(self, plan: Plan, ids: C, *, trigger: str = "cli") -> ApplyResult:
        """Carry out ``plan`` with ``ids`` (what the handlers need to know of Moodle).
        Ctrl-C stops after recording the run as failed."""
        calls_before = self.client.stats.calls
        started = time.perf_counter()
        with store.session_scope(self.sessions) as session:
            run = store.start_run(session, kind=self.run_kind, site=self.site, trigger=trigger,
                                  plan=json.loads(plan.to_json()))
            run_id = run.id
        result = ApplyResult(run_id=run_id)
        status, error = "succeeded", None
        try:
            for phase in self.phases(plan):
                self._run_stage(phase, ids, result)
                if result.failed:
                    status = "failed"
                    error = f"{len(result.failed)} step(s) failed; later stages not run"
                    break
        except KeyboardInterrupt:
            status, error = "failed", "interrupted"
            raise
        finally:
            result.api_calls = self.client.stats.calls - calls_before
            result.seconds = time.perf_counter() - started
            with store.session_scope(self.sessions) as session:
                closing = session.get(store.SyncRun, run_id)
                assert closing is not None
                store.finish_run(session, closing, status, summary={
                    "done": result.count("done"), "skipped": result.count("skipped"),
                    "failed": result.count("failed"), "seconds": round(result.seconds, 3)},
                    api_calls=result.api_calls, error=error)
        return result

    def _run_stage(self, stage: list[Op], ids: C, result: ApplyResult) -> None:
        """Run a stage's (or a phase's) steps in parallel lanes; each lane runs its steps in
        order, and a lane whose :meth:`needs` step is in this phase starts once that step is
        done (a lane thread hands it to the pool as its step lands).

        Outcomes are journaled by this thread as they arrive: whatever lands within
        :attr:`journal_gather` seconds of the first one goes in one transaction, so a step is
        on record moments after Moodle answered, without a commit per step taking the
        interpreter from the lanes (at 8 lanes and 20 ms a call, outcomes arrive ~2.5 ms apart).
        """
        lanes: dict[tuple[str, ...], list[Op]] = {}
        for op in stage:
            lanes.setdefault(self.lane(op), []).append(op)
        in_phase = {op.op_id for op in stage}
        flow = _Flow()
        for lane in lanes.values():
            needed = self.needs(lane[0])
            if needed is not None and needed in in_phase:
                flow.waiting.setdefault(needed, []).append(lane)
            else:
                flow.ready.append(lane)
        arrived: queue.Queue[StepOutcome | None] = queue.Queue()
        workers = min(self.client.concurrency, len(lanes))
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            flow.start = lambda lane: pool.submit(self._run_lane, lane, ids, arrived, flow)
            flow.submit(flow.ready)
            ended = 0
            while ended < flow.started():
                batch = self._gather(arrived, flow.started() - ended)
                landed = [outcome for outcome in batch if outcome is not None]
                ended += len(batch) - len(landed)
                if landed:
                    self._record(result.run_id, landed)
                    result.outcomes.extend(landed)
                    for outcome in landed:
                        if self.progress:
                            self.progress(outcome.op, outcome.status)
        for future in flow.futures:
            future.result()  # a bug in a handler surfaces here, after the journal is written

    def _gather(self, arrived: queue.Queue[StepOutcome | None],
                running: int) -> list[StepOutcome | None]:
        """The next outcome and whatever follows within :attr:`journal_gather` seconds (or
        until every running lane has said it is finished: ``None``)."""
        batch = [arrived.get()]
        deadline = time.monotonic() + self.journal_gather
        ended = batch.count(None)
        while ended < running:
            wait = deadline - time.monotonic()
            try:
                outcome = arrived.get(timeout=wait) if wait > 0 else arrived.get_nowait()
            except queue.Empty:
                break
            batch.append(outcome)
            ended += outcome is None
        return batch

    def _run_lane(self, lane: list[Op], ids: C, arrived: queue.Queue[StepOutcome | None],
                  flow: _Flow) -> None:
        try:
            for op in lane:
                if flow.stopped_before(op.stage):
                    break
                outcome = self._execute(op, ids)
                if outcome.status == "failed":
                    flow.failed(op.stage)
                arrived.put(outcome)
                if outcome.status == "failed":
                    break
                if outcome.status == "done":
                    flow.done(op.op_id)  # lanes waiting for this step start now
        finally:
            arrived.put(None)  # this lane is finished (its dependants are counted already)

    def _record(self, run_id: int, outcomes: list[StepOutcome]) -> None:
        with store.session_scope(self.sessions) as session:
            store.record_steps(session, run_id, [
                (o.op.op_id, o.op.kind, o.status, o.lms_id, o.detail) for o in outcomes])
            self.remember_all(session, outcomes)

    def _execute(self, op: Op, ids: C) -> StepOutcome:
        try:
            return self.handlers[type(op)](self, op, ids)
        except (e.LmsError, KeyError) as exc:
            log.warning("%s failed: %s", op.op_id, exc)
            return StepOutcome(op, "failed", str(exc))


class _Flow:
    """The lanes of one phase: those started, those waiting for a step, and the stage of the
    first failure (no lane step of a later stage starts after it). Shared by the lane threads."""

    def __init__(self) -> None:
        self.ready: list[list[Op]] = []
        self.waiting: dict[str, list[list[Op]]] = {}
        self.futures: list[Future[None]] = []
        self.start: Callable[[list[Op]], Future[None]] = _not_started
        self._lock = threading.Lock()
        self._failed_stage: int | None = None

    def submit(self, lanes: list[list[Op]]) -> None:
        with self._lock:
            for lane in lanes:
                if self._failed_stage is None or lane[0].stage <= self._failed_stage:
                    self.futures.append(self.start(lane))

    def started(self) -> int:
        with self._lock:
            return len(self.futures)

    def done(self, op_id: str) -> None:
        with self._lock:
            lanes = self.waiting.pop(op_id, [])
        if lanes:
            self.submit(lanes)

    def failed(self, stage: int) -> None:
        with self._lock:
            if self._failed_stage is None or stage < self._failed_stage:
                self._failed_stage = stage

    def stopped_before(self, stage: int) -> bool:
        with self._lock:
            return self._failed_stage is not None and stage > self._failed_stage


def _not_started(lane: list[Op]) -> Future[None]:  # pragma: no cover - replaced at once
    raise RuntimeError("the phase's pool is not running")


class Applier(StagedApplier[_Ids]):
    """Applies framework plans to one site, journaling into the store."""

    def apply(self, plan: Plan, actual: dict[str, ActualFramework | None], *,
              trigger: str = "cli") -> ApplyResult:
        """Carry out ``plan``; ``actual`` is what Moodle holds now (for ids of unchanged
        parents). Ctrl-C stops after recording the run as failed."""
        return self.run(plan, _Ids(actual), trigger=trigger)

    def lane(self, op: Op) -> tuple[str, ...]:
        """Siblings created under one parent share a lane, because Moodle appends each new
        competency after its siblings: created in source order, they need no reordering."""
        return _lane(op)

    def phases(self, plan: Plan) -> list[list[Op]]:
        """The frameworks' creates and every create stage run as one phase (a competency's
        lane starts once its parent's create, or at the top level its framework's, is done);
        everything else one stage at a time as planned (a framework update, when there is
        one, before any create, as before)."""
        phases: list[list[Op]] = []
        joining = False  # the last phase holds creates only
        for stage in plan.stages():
            creates = all(isinstance(op, CreateFramework | CreateCompetency) for op in stage)
            if creates and joining:
                phases[-1].extend(stage)
            else:
                phases.append(list(stage))
            joining = creates
        return phases

    def needs(self, op: Op) -> str | None:
        """A created competency waits for its parent's create, or at the top level for its
        framework's create (when those are in this phase)."""
        if not isinstance(op, CreateCompetency):
            return None
        if op.parent is None:
            return f"{CreateFramework.kind}:{op.framework}:{op.framework}"
        return f"{CreateCompetency.kind}:{op.framework}:{op.parent}"

    def remember_all(self, session: Session, outcomes: list[StepOutcome]) -> None:
        """Created frameworks and competencies in two bulk statements; relations one by one."""
        created: dict[str, list[tuple[str, str, int]]] = {"framework": [], "competency": []}
        for outcome in outcomes:
            op = outcome.op
            if outcome.status == "done" and outcome.lms_id and isinstance(op, CreateFramework):
                created["framework"].append(("", op.idnumber, outcome.lms_id))
            elif outcome.status == "done" and outcome.lms_id and isinstance(
                    op, CreateCompetency):
                created["competency"].append((op.framework, op.idnumber, outcome.lms_id))
            else:
                self.remember(session, outcome)
        for kind, rows in created.items():
            store.remember_objects(session, site=self.site, kind=kind, rows=rows)

    def remember(self, session: Session, outcome: StepOutcome) -> None:
        op = outcome.op
        if outcome.status == "done" and isinstance(op, RelateCompetencies):
            key = {"site": self.site, "kind": RELATED_KIND, "scope": op.framework,
                   "external_id": op.idnumber}
            if op.related:
                store.remember_object(session, lms_id=outcome.lms_id or 0, **key)
            else:
                store.forget_object(session, **key)
        if outcome.status == "done" and outcome.lms_id and isinstance(
                op, CreateFramework | CreateCompetency):
            kind = "framework" if isinstance(op, CreateFramework) else "competency"
            scope = "" if isinstance(op, CreateFramework) else op.framework
            store.remember_object(session, site=self.site, kind=kind, scope=scope,
                                  external_id=op.idnumber, lms_id=outcome.lms_id)

    # -- one handler per operation kind -------------------------------------------------

    def _create_framework(self, op: CreateFramework, ids: _Ids) -> StepOutcome:
        try:
            created = self.client.create_framework(ep.FrameworkFields(**op.values))
            framework_id = created.id
        except (e.DuplicateIdnumberError, e.LmsConnectionError) as exc:
            found = [f for f in self.client.list_frameworks() if f.idnumber == op.idnumber]
            if not found:
                raise exc from None
            framework_id = found[0].id
        ids.frameworks[op.framework] = framework_id
        return StepOutcome(op, "done", "created", framework_id)

    def _update_framework(self, op: UpdateFramework, ids: _Ids) -> StepOutcome:
        values = {c.field: c.after for c in op.changes}
        self.client.update_framework(ep.FrameworkFields(id=op.lms_id, **values))
        return StepOutcome(op, "done", "updated " + ", ".join(values), op.lms_id)

    def _create_competency(self, op: CreateCompetency, ids: _Ids) -> StepOutcome:
        framework_id = ids.frameworks[op.framework]
        fields = ep.CompetencyFields(**op.values, competencyframeworkid=framework_id,
                                     parentid=ids.competency(op.framework, op.parent))
        try:
            competency_id = self.client.create_competency(fields).id
        except (e.DuplicateIdnumberError, e.LmsConnectionError) as exc:
            found = self.client.list_competencies(competencyframeworkid=framework_id,
                                                  idnumber=op.idnumber)
            if not found:
                raise exc from None
            competency_id = found[0].id
        ids.competencies[(op.framework, op.idnumber)] = competency_id
        return StepOutcome(op, "done", "created", competency_id)

    def _update_competency(self, op: UpdateCompetency, ids: _Ids) -> StepOutcome:
        competency_id = op.lms_id or ids.competency(op.framework, op.idnumber)
        values: dict[str, Any] = {c.field: c.after for c in op.changes}
        if values.get("ruleconfig"):
            values["ruleconfig"] = _config_by_id(values["ruleconfig"], op.framework, ids)
        self.client.update_competency(ep.CompetencyFields(id=competency_id, **values))
        return StepOutcome(op, "done", "updated " + ", ".join(values), competency_id)

    def _move_competency(self, op: MoveCompetency, ids: _Ids) -> StepOutcome:
        self.client.set_parent_competency(op.lms_id, ids.competency(op.framework, op.after))
        return StepOutcome(op, "done", f"moved under {op.after or 'the top level'}", op.lms_id)

    def _reorder_children(self, op: ReorderChildren, ids: _Ids) -> StepOutcome:
        framework_id = ids.frameworks[op.framework]
        parent_id = ids.competency(op.framework, op.idnumber or None)
        rows = self.client.list_competencies(competencyframeworkid=framework_id,
                                             parentid=parent_id)
        order = [r.idnumber for r in sorted(rows, key=lambda r: (r.sortorder, r.id))]
        by_idnumber = {r.idnumber: r.id for r in rows}
        target = [i for i in op.after if i in by_idnumber]
        target += [i for i in order if i not in target]
        moves = 0
        for position, idnumber in enumerate(target):
            current = order.index(idnumber)
            for _ in range(current - position):
                self.client.move_up_competency(by_idnumber[idnumber])
                moves += 1
            order.insert(position, order.pop(current))
        return StepOutcome(op, "done", f"{moves} move(s)")

    def _relate(self, op: RelateCompetencies, ids: _Ids) -> StepOutcome:
        first, second = (ids.competency(op.framework, i) for i in op.pair)
        changed = self.client.relate_competencies(first, second, related=op.related)
        detail = "related" if op.related else ("relation removed" if changed else
                                               "was not related any more")
        return StepOutcome(op, "done", detail, first)

    def _missing_competency(self, op: MissingCompetency, ids: _Ids) -> StepOutcome:
        if self.client.delete_competency(op.lms_id):
            return StepOutcome(op, "done", "deleted", op.lms_id)
        return StepOutcome(op, "skipped", "in use (linked to a course, in a plan or rated): "
                           "Moodle refuses to delete it", op.lms_id)


_HANDLERS: dict[type[Op], Callable[[Applier, Any, _Ids], StepOutcome]] = {
    CreateFramework: Applier._create_framework,
    UpdateFramework: Applier._update_framework,
    CreateCompetency: Applier._create_competency,
    UpdateCompetency: Applier._update_competency,
    MoveCompetency: Applier._move_competency,
    ReorderChildren: Applier._reorder_children,
    RelateCompetencies: Applier._relate,
    MissingCompetency: Applier._missing_competency,
}


Applier.handlers = _HANDLERS


def _lane(op: Op) -> tuple[str, ...]:
    if isinstance(op, CreateCompetency):
        return ("create", op.framework, op.parent or "")
    return (op.op_id,)


def _config_by_id(config: str, framework: str, ids: _Ids) -> str:
    """A points rule config with idnumbers turned back into Moodle ids."""
    data = json.loads(config)
    for entry in data.get("competencies", []):
        entry["id"] = ids.competency(framework, str(entry["id"]))
    return json.dumps(data)
