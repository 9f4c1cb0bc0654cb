"""The goals sync as one job: read the exports, let the LMS's target plan, apply under a lock.

Used the same way by ``sidecar goals plan|apply|report`` and by a schedule, so that the two can
never differ, and the same way for every LMS: what differs lives behind
:class:`sync.goals.target.GoalTarget`. Only one apply runs per site at a time (a database
lock); a run interrupted earlier is closed first, and the next plan, made from what the LMS and
the store hold, picks its work up without doing anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector.pacing import CallStats
from sync.apply import Applied, Progress
from sync.errors import PlanError, StalePlanError, SyncBusyError
from sync.goals.model import Goal
from sync.goals.reader import read_goals
from sync.goals.report import GoalReport
from sync.goals.target import GoalTarget
from sync.plan import Plan
from sync.target import run_recorded

RUN_KIND = "goals"


@dataclass(frozen=True)
class GoalSync:
    """Everything one goals sync needs: the LMS's target, the store, the site, the exports."""

    target: GoalTarget
    engine: Engine
    site: str
    files: tuple[Path, ...]
    timezone: str = "UTC"

    run_kind = RUN_KIND

    @property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    @property
    def stats(self) -> CallStats:
        """The API calls made so far by this job's client."""
        return self.target.stats

    @property
    def lms(self) -> str:
        return self.target.lms

    def goals(self) -> list[Goal]:
        """The goals of every export. Raises PlanError (no files) or SourceError."""
        if not self.files:
            raise PlanError("no goal exports: list them under goals.files in the config or "
                            "give them on the command line")
        return read_goals(self.files, timezone=self.timezone)

    def plan(self) -> Plan:
        """Read the exports, the LMS and the store; return the plan.

        Raises:
            SourceError: the export has problems (lines named; nothing sent).
            PlanError: no exports configured.
            SyncError: the LMS cannot hold the goals (the message says why).
            LmsError: the LMS could not be read.
        """
        return self.target.plan(self.goals(), sources=tuple(str(p) for p in self.files))

    def report(self) -> GoalReport:
        """Progress of every goal of the exports that lms-sidecar put into the LMS."""
        return self.target.report(self.goals())

    def verify(self, plan: Plan) -> None:
        """Refuse a saved plan made for another site or before the LMS changed."""
        if plan.site != self.site:
            raise StalePlanError(f"the plan was made for {plan.site}, not {self.site}")
        now = self.target.basis(self.goals())
        changed = sorted(k for k in set(plan.basis) | set(now)
                         if plan.basis.get(k) != now.get(k))
        if changed:
            shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
            raise StalePlanError(f"{self.lms} or the export changed since the plan was made "
                                 f"({shown}); run `sidecar goals plan` again")

    def apply(self, plan: Plan | None = None, *, trigger: str = "cli",
              progress: Progress | None = None) -> Applied:
        """Apply ``plan`` (a saved one, verified first) or a fresh plan, under the lock.

        Raises:
            SyncBusyError: another goals apply for this site is running.
            StalePlanError: the saved plan no longer matches the LMS or the export.
        """
        lock = f"sync:{RUN_KIND}:{self.site}"
        with store.advisory_lock(self.engine, lock) as acquired:
            if not acquired:
                raise SyncBusyError(f"another goals apply for {self.site} is running; "
                                    "try later")
            resumed = self.close_interrupted()
            if plan is None:
                plan = self.plan()
            else:
                plan = Plan(plan.site, tuple(self.target.restore(op) for op in plan.ops),
                            plan.basis, plan.created_at, plan.sources)
                self.verify(plan)
            result = self.target.apply(plan, trigger=trigger, progress=progress)
        return Applied(plan, result, resumed)

    def run(self, *, trigger: str = "schedule") -> Applied:
        """Plan and apply as a schedule does; a failure before any step is recorded too."""
        return run_recorded(lambda: self.apply(trigger=trigger), self.sessions, kind=RUN_KIND,
                            site=self.site, trigger=trigger)

    def close_interrupted(self) -> tuple[int, ...]:
        """Close goals runs that never finished (a crash or kill); their ids."""
        with store.session_scope(self.sessions) as session:
            return tuple(store.close_interrupted_runs(session, self.site, RUN_KIND))
