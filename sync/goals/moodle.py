"""Goals on Moodle: a learning plan per goal holding its competencies (the :class:`GoalTarget`
for ``lms.kind: moodle``).

Reading costs a user lookup per ~1,000 people, one call per framework and a few per plan
(:mod:`sync.goals.actual`); planning is :func:`sync.goals.planner.plan_goals`; applying is
:class:`sync.goals.apply.GoalApplier` on the journaled staged applier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import RenderableType
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.pacing import CallStats
from sync.apply import ApplyResult, Progress
from sync.goals import render as rendering
from sync.goals.actual import (
    GoalsActual,
    check_people_and_competencies,
    find_users,
    read_competencies,
    read_plans,
    read_store,
)
from sync.goals.apply import GoalApplier, GoalIds
from sync.goals.job import GoalSync
from sync.goals.model import Goal
from sync.goals.ops import PLAN_KIND, GoalOp, from_saved
from sync.goals.planner import GoalOptions, basis, plan_goals
from sync.goals.report import GoalReport, moodle_report
from sync.plan import Op, Plan


@dataclass(frozen=True)
class MoodleGoals:
    """Goals as Moodle learning plans on one site (see the module doc)."""

    client: MoodleClient
    sessions: sessionmaker[Session]
    site: str
    options: GoalOptions = field(default_factory=GoalOptions)
    employee_key: ep.UserField = "email"
    manager_key: ep.UserField = "email"
    frameworks: tuple[str, ...] = ()

    lms = "Moodle"

    @property
    def stats(self) -> CallStats:
        return self.client.stats

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

    def plan(self, goals: Sequence[Goal], *, sources: tuple[str, ...] = ()) -> Plan:
        """The learning-plan steps for ``goals`` (see :mod:`sync.goals.planner`)."""
        return plan_goals(goals, self.read(goals), site=self.site, options=self.options,
                          sources=sources)

    def basis(self, goals: Sequence[Goal]) -> dict[str, str]:
        return basis(goals, self.read(goals))

    def restore(self, op: Op) -> Op:
        return from_saved(op)

    def apply(self, plan: Plan, *, trigger: str,
              progress: Progress | None = None) -> ApplyResult:
        applier = GoalApplier(self.client, self.sessions, self.site, progress=progress)
        return applier.run(plan, self._ids(plan), trigger=trigger)

    def _ids(self, plan: Plan) -> GoalIds:
        with store.session_scope(self.sessions) as session:
            rows = store.objects_by_external_id(session, self.site, PLAN_KIND)
        ids = GoalIds(claimed={row.lms_id for row in rows.values()})
        for op in plan.ops:
            if isinstance(op, GoalOp) and op.lms_id:
                ids.plans[op.goal_id] = op.lms_id
        return ids

    def report(self, goals: Sequence[Goal]) -> GoalReport:
        return moodle_report(self.client, self.sessions, self.site, self.employee_key, goals)

    def render(self, plan: Plan) -> RenderableType:
        return rendering.render(plan)

    def summary(self, plan: Plan) -> str:
        return rendering.summary(plan)


def moodle_goal_sync(client: MoodleClient, engine: Engine, site: str, files: Sequence[Path],
                     *, options: GoalOptions | None = None, employee_key: ep.UserField = "email",
                     manager_key: ep.UserField = "email", frameworks: Sequence[str] = (),
                     timezone: str = "UTC") -> GoalSync:
    """The goals sync of a Moodle site (what tests, benchmarks and the wiring build)."""
    target = MoodleGoals(client, store.session_factory(engine), site,
                         options or GoalOptions(), employee_key, manager_key, tuple(frameworks))
    return GoalSync(target, engine, site, tuple(files), timezone)
