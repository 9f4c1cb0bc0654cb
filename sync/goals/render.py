"""Goals plans as a person reads them: a tree per goal, the manager roles, a summary line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from sync.goals.ops import (
    AddPlanCompetency,
    AdoptPlan,
    CreatePlan,
    DeletePlan,
    GoalNote,
    GoalOp,
    PlanDrift,
    RemovePlanCompetency,
    SetManagerRoles,
    UpdatePlan,
)
from sync.plan import Change, Op, Plan
from sync.render import change_line

_MARKS = {"create_plan": ("+ ", "green"), "adopt_plan": ("= ", "cyan"),
          "update_plan": ("~ ", "yellow"), "add_plan_competency": ("+ ", "green"),
          "remove_plan_competency": ("- ", "red"), "reopen_plan": ("↺ ", "blue"),
          "approve_plan": ("✓ ", "blue"), "complete_plan": ("✔ ", "blue"),
          "delete_plan": ("✗ ", "bold red"), "plan_drift": ("! ", "bold magenta"),
          "goal_note": ("? ", "dim")}


def _line(op: GoalOp) -> Text:
    mark, style = _MARKS.get(op.kind, ("· ", ""))
    if isinstance(op, CreatePlan):
        return Text.assemble((mark, style), ("create plan ", style),
                             f"“{op.values.get('name', '')}” ({op.reason})")
    if isinstance(op, AddPlanCompetency | RemovePlanCompetency):
        verb = "add" if isinstance(op, AddPlanCompetency) else "remove"
        return Text.assemble((mark, style), (f"{verb} {op.idnumber}", style), f"  {op.reason}")
    label = {AdoptPlan: "adopt plan", UpdatePlan: "update plan", PlanDrift: "drift",
             GoalNote: "note", DeletePlan: "delete plan"}.get(type(op),
                                                               op.kind.replace("_", " "))
    plan = f" {op.lms_id}" if op.lms_id and not isinstance(op, GoalNote | PlanDrift) else ""
    return Text.assemble((mark, style), (label + plan, style), f"  {op.reason}")


def summary(plan: Plan) -> str:
    """One line: how many of each kind of change, drift and notes."""
    counts = Counter(op.kind for op in plan.ops)
    pairs = Counter(("assign" if op.assign else "unassign")
                    for op in plan.ops if isinstance(op, SetManagerRoles) for _ in op.pairs)
    parts = [f"{counts['create_plan']} plans to create",
             f"{counts['update_plan']} to update",
             f"{counts['add_plan_competency']} competencies to add",
             f"{counts['remove_plan_competency']} to remove",
             f"{counts['complete_plan']} to complete",
             f"{counts['reopen_plan']} to reopen",
             f"{counts['delete_plan']} to delete",
             f"{pairs['assign']} manager roles to assign",
             f"{pairs['unassign']} to remove"]
    if counts["adopt_plan"]:
        parts.append(f"{counts['adopt_plan']} found by title")
    text = "Plan: " + ", ".join(parts)
    if counts["plan_drift"]:
        text += f"; {counts['plan_drift']} changed in Moodle (drift, left: --force overwrites)"
    return text + "."


def goal_trees(ops: Iterable[GoalOp], line: Callable[[GoalOp], Text],
               change: Callable[[Change], Text] = change_line) -> list[Tree]:
    """A tree per goal (per goal and employee for one gone from the export): its steps in
    the order they run, as ``line`` shows them, each step's changes below it."""
    trees: dict[str, Tree] = {}
    for op in ops:
        key = op.goal_id + (op.idnumber if op.idnumber.startswith("@") else "")
        tree = trees.setdefault(key, Tree(Text.assemble(
            "Goal ", (op.goal_id, "bold"), f"  {op.employee or 'user ' + str(op.user_id)}")))
        node = tree.add(line(op))
        for item in getattr(op, "changes", ()):
            node.add(change(item))
    return list(trees.values())


def render(plan: Plan) -> RenderableType:
    """The plan as a tree per goal, steps in the order they run, then the manager roles."""
    if not plan.ops:
        return Text("No changes: Moodle matches the goal export.", style="green")
    roles: list[Op] = [op for op in plan.ops if not isinstance(op, GoalOp)]
    parts: list[RenderableType] = [*goal_trees(
        (op for op in plan.ops if isinstance(op, GoalOp)), _line)]
    if roles:
        tree = Tree(Text("Manager roles", style="bold"))
        for op in roles:
            assert isinstance(op, SetManagerRoles)
            mark, style = ("+ ", "green") if op.assign else ("- ", "red")
            for pair in op.pairs:
                tree.add(Text.assemble((mark, style), f"{pair.manager or pair.manager_id} in "
                                       f"the user context of {pair.employee or pair.employee_id}"
                                       f" (role {pair.role_id})  {op.reason}"))
        parts.append(tree)
    return Group(*parts, Text(summary(plan), style="bold"))
