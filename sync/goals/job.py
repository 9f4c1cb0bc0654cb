"""The goals sync as one job: read the exports, read Moodle and the store, plan, apply.

Used the same way by ``sidecar goals plan|apply`` and by a schedule, so that the two can
never differ. Only one apply runs per site at a time (a database lock); a run interrupted
earlier is closed first, and the next plan, made from what Moodle and the store hold, picks
its work up without doing anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector.errors import LmsError
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from sync.apply import Applied, Progress
from sync.errors import PlanError, StalePlanError, SyncBusyError, SyncError
from sync.goals.actual import (
    GoalsActual,
    check_people_and_competencies,
    find_users,
    read_competencies,
    read_plans,
    read_store,
)
from sync.goals.apply import RUN_KIND, GoalApplier, GoalIds
from sync.goals.model import Goal
from sync.goals.ops import GoalOp, from_saved
from sync.goals.planner import GoalOptions, basis, plan_goals
from sync.goals.reader import read_goals
from sync.plan import Plan


@dataclass(frozen=True)
class GoalSync:
    """Everything one goals sync needs: client, store, site, exports and options."""

    client: MoodleClient
    engine: Engine
    site: str
    files: tuple[Path, ...]
    options: GoalOptions = field(default_factory=GoalOptions)
    employee_key: ep.UserField = "email"
    manager_key: ep.UserField = "email"
    frameworks: tuple[str, ...] = ()
    timezone: str = "UTC"

    @property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    def goals(self) -> list[Goal]:
        """The goals of every export. Raises PlanError (no files) or SourceError."""
        if not self.files:
            raise PlanError("no goal exports: list them under goals.files in the config or "
                            "give them on the command line")
        return read_goals(self.files, timezone=self.timezone)

    def read(self, goals: Sequence[Goal]) -> GoalsActual:
        """What Moodle and the store hold for ``goals``; the export's references are checked
        first (SourceError with lines), and plans are read only when they all resolve."""
        actual = GoalsActual()
        actual.employees = find_users(self.client, self.employee_key,
                                      [g.employee for g in goals])
        managers = [g.manager for g in goals if g.manager]
        actual.managers = (find_users(self.client, self.manager_key, managers)
                           if managers else {})
        actual.competencies = read_competencies(self.client, self.frameworks)
        check_people_and_competencies(goals, actual)
        read_store(self.sessions, self.site, actual)
        read_plans(self.client, goals, actual)
        return actual

    def plan(self) -> tuple[Plan, GoalsActual]:
        """Read the exports, Moodle and the store; return the plan and what was read.

        Raises:
            SourceError: the export has problems (lines named; nothing sent).
            PlanError: no exports configured.
            LmsError: Moodle could not be read.
        """
        goals = self.goals()
        actual = self.read(goals)
        plan = plan_goals(goals, actual, site=self.site, options=self.options,
                          sources=tuple(str(p) for p in self.files))
        return plan, actual

    def verify(self, plan: Plan) -> None:
        """Refuse a saved plan made for another site or before Moodle changed."""
        if plan.site != self.site:
            raise StalePlanError(f"the plan was made for {plan.site}, not {self.site}")
        goals = self.goals()
        now = basis(goals, self.read(goals))
        changed = sorted(k for k in set(plan.basis) | set(now)
                         if plan.basis.get(k) != now.get(k))
        if changed:
            shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
            raise StalePlanError(f"Moodle or the export changed since the plan was made "
                                 f"({shown}); run `sidecar goals plan` again")

    def apply(self, plan: Plan | None = None, *, trigger: str = "cli",
              progress: Progress | None = None) -> Applied:
        """Apply ``plan`` (a saved one, verified first) or a fresh plan, under the lock.

        Raises:
            SyncBusyError: another goals apply for this site is running.
            StalePlanError: the saved plan no longer matches Moodle or the export.
        """
        lock = f"sync:{RUN_KIND}:{self.site}"
        with store.advisory_lock(self.engine, lock) as acquired:
            if not acquired:
                raise SyncBusyError(f"another goals apply for {self.site} is running; "
                                    "try later")
            resumed = self.close_interrupted()
            if plan is None:
                plan, _ = self.plan()
            else:
                plan = Plan(plan.site, tuple(from_saved(op) for op in plan.ops), plan.basis,
                            plan.created_at, plan.sources)
                self.verify(plan)
            applier = GoalApplier(self.client, self.sessions, self.site, progress=progress)
            result = applier.run(plan, self._ids(plan), trigger=trigger)
        return Applied(plan, result, resumed)

    def run(self, *, trigger: str = "schedule") -> Applied:
        """Plan and apply as a schedule does; a failure before any step is recorded too."""
        try:
            return self.apply(trigger=trigger)
        except SyncBusyError:
            raise
        except (SyncError, LmsError) as exc:
            with store.session_scope(self.sessions) as session:
                run = store.start_run(session, kind=RUN_KIND, site=self.site, trigger=trigger)
                store.finish_run(session, run, "failed", error=str(exc)[:4000])
            raise

    def _ids(self, plan: Plan) -> GoalIds:
        with store.session_scope(self.sessions) as session:
            rows = store.objects_by_external_id(session, self.site, "goal_plan")
        ids = GoalIds(claimed={row.lms_id for row in rows.values()})
        for op in plan.ops:
            if isinstance(op, GoalOp) and op.lms_id:
                ids.plans[op.goal_id] = op.lms_id
        return ids

    def close_interrupted(self) -> tuple[int, ...]:
        """Close goals runs that never finished (a crash or kill); their ids."""
        with store.session_scope(self.sessions) as session:
            return tuple(store.close_interrupted_runs(session, self.site, RUN_KIND))
