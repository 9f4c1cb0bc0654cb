"""Plans as a person reads them: a coloured tree per framework, and a one-line summary."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from sync.plan import (
    Change,
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

_SHOWN = 70


def _short(value: object) -> str:
    """A value on one line, at most 70 characters ("—" for none)."""
    text = "—" if value in (None, "") else " ".join(str(value).split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def change_line(change: Change) -> Text:
    """One field's change, before in red and after in green."""
    return Text.assemble(f"    {change.field}: ", (_short(change.before), "red"), " → ",
                         (_short(change.after), "green"))


def _line(op: Op) -> Text:
    if isinstance(op, CreateFramework | CreateCompetency):
        name = op.values.get("shortname", "")
        return Text.assemble(("+ ", "bold green"), (op.idnumber, "green"), f"  {name}")
    if isinstance(op, UpdateFramework | UpdateCompetency):
        return Text.assemble(("~ ", "bold yellow"), (op.idnumber, "yellow"), f"  {op.reason}")
    if isinstance(op, MoveCompetency):
        return Text.assemble(("→ ", "bold blue"), (op.idnumber, "blue"),
                             f"  from {op.before or 'the top level'} to "
                             f"{op.after or 'the top level'}")
    if isinstance(op, ReorderChildren):
        return Text.assemble(("↕ ", "bold magenta"), (op.idnumber or "(top level)", "magenta"),
                             "  children in source order: " + ", ".join(op.after))
    if isinstance(op, RelateCompetencies):
        first, second = op.pair
        if op.related:
            return Text.assemble(("⇄ ", "bold cyan"), (f"{first} ↔ {second}", "cyan"),
                                 "  related")
        return Text.assemble(("⇄ ", "bold red"), (f"{first} ↔ {second}", "red"),
                             f"  {op.reason}, relation removed")
    if isinstance(op, MissingCompetency):
        if op.action == "delete":
            return Text.assemble(("- ", "bold red"), (op.idnumber, "red"),
                                 f"  {op.shortname}: {op.reason}, will be deleted")
        return Text.assemble(("? ", "dim"), (op.idnumber, "dim"),
                             (f"  {op.shortname}: {op.reason}, left in Moodle", "dim"))
    return Text(op.op_id)


def summary(plan: Plan) -> str:
    """One line: how many of each kind of change, and how many left alone."""
    counts = plan.count()
    missing = [op for op in plan.ops if isinstance(op, MissingCompetency)]
    deleting = sum(1 for op in missing if op.action == "delete")
    parts = [
        f"{counts.get('create_framework', 0) + counts.get('create_competency', 0)} to create",
        f"{counts.get('update_framework', 0) + counts.get('update_competency', 0)} to update",
        f"{counts.get('move_competency', 0)} to move",
        f"{counts.get('reorder_children', 0)} to reorder",
        f"{counts.get('relate_competencies', 0)} relations to change",
        f"{deleting} to delete",
    ]
    left = len(missing) - deleting
    text = "Plan: " + ", ".join(parts)
    if left:
        text += f"; {left} not in source (left in Moodle)"
    return text + "."


def render(plan: Plan) -> RenderableType:
    """The whole plan as a tree per framework, changes in the order they would be made."""
    if not plan.ops:
        return Text("No changes: Moodle matches the source.", style="green")
    frameworks: dict[str, Tree] = {}
    created: dict[tuple[str, str], Tree] = {}
    for op in plan.ops:
        tree = frameworks.setdefault(op.framework, Tree(Text.assemble(
            "Framework ", (op.framework, "bold"),
            f"  (Moodle now: {'new' if not plan.basis.get(op.framework) else 'exists'})")))
        parent = op.parent if isinstance(op, CreateCompetency) else None
        node = created.get((op.framework, parent or ""), tree).add(_line(op))
        if isinstance(op, CreateCompetency):
            created[(op.framework, op.idnumber)] = node
        for change in getattr(op, "changes", ()):
            node.add(change_line(change))
    return Group(*frameworks.values(), Text(summary(plan), style="bold"))
