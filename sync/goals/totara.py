"""Goals on Totara: a perform goal of the employee per goal, keyed by its ``id_number`` (the
:class:`~sync.goals.target.GoalTarget` for ``lms.kind: totara``).

Reading: :mod:`sync.goals.totara_plan`; applying: :mod:`sync.goals.totara_apply`; progress is
read back with ``perform_goal_user_goals`` into the same report as Moodle's (no competencies:
the goal's status and the employee's current value of the target value).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Group, RenderableType
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector.pacing import CallStats
from connector.totara import models as tm
from connector.totara.client import TotaraClient
from sync.apply import ApplyResult, Progress
from sync.goals.job import GoalSync
from sync.goals.model import Goal
from sync.goals.ops import GoalNote, GoalOp, PlanDrift, plan_key
from sync.goals.planner import GoalOptions
from sync.goals.render import goal_trees
from sync.goals.report import GoalProgress, GoalReport
from sync.goals.totara_apply import TotaraGoalApplier, TotaraIds
from sync.goals.totara_ops import CreateGoal, TotaraGoalOp
from sync.goals.totara_plan import (
    PersonKey,
    TotaraActual,
    basis,
    plan_totara_goals,
    read_actual,
)
from sync.plan import Change, Op, Plan

_MARKS = {"create_goal": ("+ ", "green"), "adopt_goal": ("= ", "cyan"),
          "update_goal": ("~ ", "yellow"), "delete_goal": ("✗ ", "bold red"),
          "plan_drift": ("! ", "bold magenta"), "goal_note": ("? ", "dim")}


@dataclass(frozen=True)
class TotaraGoals:
    """Goals as Totara perform goals on one site (see the module doc)."""

    client: TotaraClient
    sessions: sessionmaker[Session]
    site: str
    options: GoalOptions = field(default_factory=GoalOptions)
    employee_key: PersonKey = "email"
    timezone: str = "UTC"

    lms = "Totara"

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    def read(self, goals: Sequence[Goal]) -> TotaraActual:
        return read_actual(self.client, self.sessions, self.site, goals, self.employee_key)

    def plan(self, goals: Sequence[Goal], *, sources: tuple[str, ...] = ()) -> Plan:
        """The perform-goal steps for ``goals`` (see :mod:`sync.goals.totara_plan`)."""
        return plan_totara_goals(goals, self.read(goals), site=self.site, options=self.options,
                                 timezone=self.timezone, sources=sources)

    def basis(self, goals: Sequence[Goal]) -> dict[str, str]:
        return basis(goals, self.read(goals))

    def restore(self, op: Op) -> Op:
        return op  # nothing nested but plain dicts, which JSON keeps

    def apply(self, plan: Plan, *, trigger: str,
              progress: Progress | None = None) -> ApplyResult:
        ids = TotaraIds({op.goal_id: op.lms_id for op in plan.ops
                         if isinstance(op, TotaraGoalOp) and op.lms_id})
        applier = TotaraGoalApplier(self.client, self.sessions, self.site, progress=progress)
        return applier.run(plan, ids, trigger=trigger)

    def report(self, goals: Sequence[Goal]) -> GoalReport:
        """Each goal's perform goal (found by its id_number): status and progress; goals
        lms-sidecar made that are gone from Totara say so."""
        calls = self.stats.calls
        actual = self.read(goals)
        report = GoalReport(course_source="none")
        for goal in goals:
            held = actual.goal(goal)
            user = actual.employees[goal.employee]
            stored = actual.stored.get(plan_key(goal.goal_id, user.id))
            if held is not None:
                report.goals.append(GoalProgress(
                    goal.goal_id, goal.employee, goal.title, goal.status.value, held.id,
                    (held.status or "").replace("_", " "), progress=_progress(held)))
            elif stored is not None:
                report.goals.append(GoalProgress(
                    goal.goal_id, goal.employee, goal.title, goal.status.value,
                    stored.plan_id, "deleted in Totara"))
        report.api_calls = self.stats.calls - calls
        return report

    def render(self, plan: Plan) -> RenderableType:
        return render(plan)

    def summary(self, plan: Plan) -> str:
        return summary(plan)


def _progress(goal: tm.Goal) -> str:
    if goal.target_value is None:
        return ""
    return f"{_number(goal.current_value or 0)}/{_number(goal.target_value)}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def summary(plan: Plan) -> str:
    """One line: goals to create, update, delete; found by id_number; drift."""
    counts = Counter(op.kind for op in plan.ops)
    text = (f"Plan: {counts['create_goal']} goals to create, {counts['update_goal']} to "
            f"update, {counts['delete_goal']} to delete")
    if counts["adopt_goal"]:
        text += f", {counts['adopt_goal']} found by id_number"
    if counts["plan_drift"]:
        text += f"; {counts['plan_drift']} changed in Totara (drift, left: --force overwrites)"
    return text + "."


def _line(op: GoalOp) -> Text:
    mark, style = _MARKS.get(op.kind, ("· ", ""))
    if isinstance(op, CreateGoal):
        return Text.assemble((mark, style), ("create goal ", style),
                             f"“{op.values.get('name', '')}” {op.id_number} ({op.reason})")
    label = op.kind.replace("_", " ").replace("plan drift", "drift").replace("goal note",
                                                                             "note")
    lms_id = f" {op.lms_id}" if op.lms_id and not isinstance(op, GoalNote | PlanDrift) else ""
    return Text.assemble((mark, style), (label + lms_id, style), f"  {op.reason}")


def _change(change: Change) -> Text:
    before = "—" if change.before in (None, "") else str(change.before)
    after = "—" if change.after in (None, "") else str(change.after)
    return Text.assemble(f"    {change.field}: ", (before[:70], "red"), " → ",
                         (after[:70], "green"))


def render(plan: Plan) -> RenderableType:
    """The plan as a tree per goal, steps in the order they run, then the summary."""
    if not plan.ops:
        return Text("No changes: Totara matches the goal export.", style="green")
    goals: list[GoalOp] = []
    notes: list[Text] = []
    for op in plan.ops:
        if isinstance(op, GoalOp) and (op.employee or op.user_id):
            goals.append(op)
        else:
            notes.append(Text(f"? {op.reason}", style="dim"))
    return Group(*notes, *goal_trees(goals, _line, _change), Text(summary(plan), style="bold"))


def totara_goal_sync(client: TotaraClient, engine: Engine, site: str, files: Sequence[Path],
                     *, options: GoalOptions | None = None, employee_key: PersonKey = "email",
                     timezone: str = "UTC") -> GoalSync:
    """The goals sync of a Totara site (what tests and the wiring build)."""
    target = TotaraGoals(client, store.session_factory(engine), site,
                         options or GoalOptions(), employee_key, timezone)
    return GoalSync(target, engine, site, tuple(files), timezone)

