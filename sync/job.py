"""The framework sync as one job: read sources, read Moodle, plan, and apply.

Used the same way by ``sidecar plan`` / ``sidecar apply`` and by the nightly schedule, so
that a scheduled run and a run by hand can never differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector.moodle.client import MoodleClient
from sync.actual import ActualFramework, read_frameworks
from sync.apply import RELATED_KIND, RUN_KIND, Applied, Applier, Progress
from sync.errors import PlanError, StalePlanError, SyncBusyError
from sync.plan import Plan
from sync.planner import PlanOptions, plan_frameworks
from sync.sources import read_sources
from sync.target import run_recorded

log = logging.getLogger(__name__)

Actual = dict[str, ActualFramework | None]


@dataclass(frozen=True)
class FrameworkSync:
    """Everything one sync needs: the client, the store, which site, which sources."""

    run_kind: ClassVar[str] = RUN_KIND
    client: MoodleClient
    engine: Engine
    site: str
    sources: tuple[Path, ...]
    options: PlanOptions = field(default_factory=PlanOptions)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    def plan(self) -> tuple[Plan, Actual]:
        """Read the sources and Moodle; return the plan and what Moodle holds.

        Raises:
            SourceError: a source has problems (nothing read from Moodle yet).
            PlanError: no sources, or the sources cannot be planned for this site.
            LmsError: Moodle could not be read.
        """
        if not self.sources:
            raise PlanError("no framework sources: list them under sync.sources in the config "
                            "or give them on the command line")
        desired = read_sources(self.sources)
        actual = read_frameworks(self.client, [fw.idnumber for fw in desired])
        plan = plan_frameworks(desired, actual, site=self.site, options=self.options,
                               sources=tuple(str(p) for p in self.sources),
                               related={fw.idnumber: self.relations_made(fw.idnumber)
                                        for fw in desired})
        return plan, actual

    def relations_made(self, framework: str) -> frozenset[tuple[str, str]]:
        """The relations between competencies of ``framework`` that lms-sidecar made."""
        with store.session_scope(self.sessions) as session:
            rows = store.objects_by_external_id(session, self.site, RELATED_KIND, framework)
        return frozenset(tuple(key.split("|", 1)) for key in rows)  # type: ignore[misc]

    def apply(self, plan: Plan | None = None, *, trigger: str = "cli",
              progress: Progress | None = None) -> Applied:
        """Apply ``plan`` (a saved one, checked against Moodle first) or a fresh plan.

        Only one apply runs per site at a time, across processes and instances (a database
        lock); an apply that was interrupted earlier is closed and its work picked up.

        Raises:
            SyncBusyError: another apply for this site is running.
            StalePlanError: the saved plan is for another site or Moodle changed since.
        """
        with store.advisory_lock(self.engine, f"sync:{RUN_KIND}:{self.site}") as acquired:
            if not acquired:
                raise SyncBusyError(f"another apply for {self.site} is running; try later")
            resumed = tuple(self.interrupted_runs())
            if plan is None:
                plan, actual = self.plan()
            else:
                actual = self.verify(plan)
            result = Applier(self.client, self.sessions, self.site, progress=progress).apply(
                plan, actual, trigger=trigger)
        return Applied(plan, result, resumed)

    def run(self, *, trigger: str = "schedule") -> Applied:
        """Plan and apply, as the schedule does; a failure before any step (bad sources, the
        site unreachable) is recorded as a failed run too, so that no run fails silently.

        Raises:
            SyncBusyError: another apply holds the lock (nothing recorded: not a failure).
            SyncError, LmsError: after recording the failed run.
        """
        return run_recorded(lambda: self.apply(trigger=trigger), self.sessions, kind=RUN_KIND,
                            site=self.site, trigger=trigger)

    def verify(self, plan: Plan) -> Actual:
        """What Moodle holds now, if it is what ``plan`` was made against."""
        if plan.site != self.site:
            raise StalePlanError(f"the plan was made for {plan.site}, not {self.site}")
        actual = read_frameworks(self.client, list(plan.basis))
        changed = [idnumber for idnumber, fingerprint in plan.basis.items()
                   if _fingerprint(actual[idnumber]) != fingerprint]
        if changed:
            raise StalePlanError(
                f"Moodle changed since the plan was made ({', '.join(changed)}); "
                "run `sidecar plan` again")
        return actual

    def interrupted_runs(self) -> list[int]:
        """Close runs that never finished (a crash or kill) and return their ids.

        Applying again is then safe: the next plan is made from what Moodle holds, so what
        the broken run created is found by idnumber and never created twice.
        """
        with store.session_scope(self.sessions) as session:
            return store.close_interrupted_runs(session, self.site, RUN_KIND)


def _fingerprint(current: ActualFramework | None) -> str:
    return current.fingerprint() if current is not None else ""
