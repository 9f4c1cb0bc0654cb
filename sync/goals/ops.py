"""The typed steps of a goals plan, registered so that saved plans read them back.

An op names its goal in ``framework`` (the goal id) and what it touches in ``idnumber``
(a competency idnumber, or "" for the plan itself); manager role ops name their batch.
Each plan step carries ``fingerprint``: what lms-sidecar will have written to the plan once
the step is done (fields, competencies, status), so that the store always holds the state of
the last step that landed, and a later plan can tell a hand edit in Moodle (drift) from a
change in the export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sync.plan import Change, Op, register_op

if TYPE_CHECKING:
    from sync.goals.actual import Stored
    from sync.goals.model import Goal

STAGE_GOALS = 0  # one stage: each goal's steps run in order in its own lane
PLAN_KIND = "goal_plan"  # lms_objects rows: external_id "<goal id>@<Moodle user id>"
ROLE_KIND = "goal_manager_role"  # external_id "<employee id>:<manager id>:<role id>"


def plan_key(goal_id: str, user_id: int) -> str:
    """The store's key of the plan of one goal of one employee."""
    return f"{goal_id}@{user_id}"


@dataclass(frozen=True)
class GoalOp(Op):
    """A step on one goal's plan: ``lms_id`` is the plan's id (0 until it is created)."""

    kind: ClassVar[str] = "goal_op"
    stage: int = STAGE_GOALS
    employee: str = ""
    user_id: int = 0
    lms_id: int = 0
    fingerprint: str = ""

    @property
    def goal_id(self) -> str:
        return self.framework

    @property
    def key(self) -> str:
        return plan_key(self.framework, self.user_id)


@register_op
@dataclass(frozen=True)
class CreatePlan(GoalOp):
    kind: ClassVar[str] = "create_plan"
    values: dict[str, Any] = field(default_factory=dict)


@register_op
@dataclass(frozen=True)
class AdoptPlan(GoalOp):
    """A plan of the employee with the goal's title that lms-sidecar has no record of (its
    record was lost): remembered as the goal's plan instead of creating a second one."""

    kind: ClassVar[str] = "adopt_plan"


@register_op
@dataclass(frozen=True)
class UpdatePlan(GoalOp):
    kind: ClassVar[str] = "update_plan"
    changes: tuple[Change, ...] = ()


@register_op
@dataclass(frozen=True)
class AddPlanCompetency(GoalOp):
    kind: ClassVar[str] = "add_plan_competency"
    competency_id: int = 0


@register_op
@dataclass(frozen=True)
class RemovePlanCompetency(GoalOp):
    kind: ClassVar[str] = "remove_plan_competency"
    competency_id: int = 0


@register_op
@dataclass(frozen=True)
class ReopenPlan(GoalOp):
    kind: ClassVar[str] = "reopen_plan"


@register_op
@dataclass(frozen=True)
class ApprovePlan(GoalOp):
    kind: ClassVar[str] = "approve_plan"


@register_op
@dataclass(frozen=True)
class CompletePlan(GoalOp):
    kind: ClassVar[str] = "complete_plan"


@register_op
@dataclass(frozen=True)
class DeletePlan(GoalOp):
    kind: ClassVar[str] = "delete_plan"


@register_op
@dataclass(frozen=True)
class PlanDrift(GoalOp):
    """The plan was changed by hand in Moodle since lms-sidecar wrote it, and the export wants
    something else: reported, not overwritten (``--force`` overwrites)."""

    kind: ClassVar[str] = "plan_drift"
    writes: ClassVar[bool] = False
    changes: tuple[Change, ...] = ()


@register_op
@dataclass(frozen=True)
class GoalNote(GoalOp):
    """Something the plan reports and leaves alone (a withdrawn goal's plan kept, a plan whose
    goal is gone from the export, a due date Moodle would refuse)."""

    kind: ClassVar[str] = "goal_note"
    writes: ClassVar[bool] = False


class _Person(Protocol):
    @property
    def id(self) -> int: ...


def orphan_notes(goals: Sequence[Goal], employees: Mapping[str, _Person],
                 stored: Mapping[str, Stored], left: str) -> list[Op]:
    """A note for each goal lms-sidecar put into the LMS (``stored``, by :func:`plan_key`)
    that the export no longer has for that employee: reported, and ``left`` (what happens
    to it, "plan left in Moodle"), never deleted."""
    present = {plan_key(g.goal_id, employees[g.employee].id) for g in goals}
    ops: list[Op] = []
    for key, record in sorted(stored.items()):
        if key not in present:
            goal_id, _, user_id = key.rpartition("@")
            ops.append(GoalNote(goal_id, f"@{user_id}", reason="no longer in the export for "
                                f"this employee: {left}", user_id=int(user_id),
                                lms_id=record.plan_id))
    return ops


@dataclass(frozen=True)
class ManagerPair:
    """A manager's role in an employee's user context; keys as the export names them."""

    employee_id: int
    manager_id: int
    role_id: int
    employee: str = ""
    manager: str = ""

    @property
    def key(self) -> str:
        return f"{self.employee_id}:{self.manager_id}:{self.role_id}"


@register_op
@dataclass(frozen=True)
class SetManagerRoles(Op):
    """Assign (``assign``) or unassign the manager role for a batch of pairs: one call."""

    kind: ClassVar[str] = "manager_roles"
    stage: int = STAGE_GOALS
    assign: bool = True
    pairs: tuple[ManagerPair, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["pairs"] = [vars(p) for p in self.pairs]
        return data


def from_saved(op: Op) -> Op:
    """Undo what JSON did to nested values (pairs as dicts) after :meth:`Plan.from_json`."""
    if isinstance(op, SetManagerRoles) and op.pairs and isinstance(op.pairs[0], dict):
        pairs = tuple(ManagerPair(**p) for p in op.pairs)  # type: ignore[arg-type]
        return SetManagerRoles(op.framework, op.idnumber, op.stage, op.reason,
                               assign=op.assign, pairs=pairs)
    return op
