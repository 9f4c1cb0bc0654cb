"""Carry out a goals plan on the journaled, staged applier of :mod:`sync.apply`.

Each goal's steps run in order in their own lane (a goal whose step fails stops there; the
other goals go on); manager role batches run in lanes of their own. Every step is journaled,
and the store learns the plan id and the fingerprint of what was written as each step lands.
A create whose answer was lost (timeout, reset) is looked up among the employee's plans by
the goal's title; it is tried again only by a later plan that looked again, so a goal never
gets two plans.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sqlalchemy.orm import Session
from typing_extensions import TypeVar as TypeVarWithDefault

import store
from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.moodle.text import same_name
from sync.apply import LmsClient, StagedApplier, StepOutcome
from sync.goals.ops import (
    PLAN_KIND,
    ROLE_KIND,
    AddPlanCompetency,
    AdoptPlan,
    ApprovePlan,
    CompletePlan,
    CreatePlan,
    DeletePlan,
    GoalOp,
    RemovePlanCompetency,
    ReopenPlan,
    SetManagerRoles,
    UpdatePlan,
)
from sync.plan import Op

log = logging.getLogger(__name__)

RUN_KIND = "goals"
ROLE_REFUSED = (
    "Moodle refused role {role} in the employees' user context (it answers only "
    "'invalidparameter'): check that goals.manager_role is the id of an existing role, that "
    "the role lists 'User' under 'Context types where this role may be assigned' (Site "
    "administration > Users > Permissions > Define roles > edit the role), and that the "
    "token's user may assign it (Define roles > Allow role assignments)")
C = TypeVar("C")
L = TypeVarWithDefault("L", bound=LmsClient, default=MoodleClient)


class GoalStepApplier(StagedApplier[C, L]):
    """What every LMS's goals applier does alike: each goal's steps run in order in their own
    lane, and the store learns the goal's LMS id and fingerprint (``object_kind`` rows keyed
    by :attr:`GoalOp.key`) as each step lands, and forgets them when a ``deletes`` step does."""

    run_kind = RUN_KIND
    object_kind: ClassVar[str]
    deletes: ClassVar[type[GoalOp]]

    def lane(self, op: Op) -> tuple[str, ...]:
        if isinstance(op, GoalOp):
            return ("goal", op.goal_id)
        return (op.op_id,)

    def remember_all(self, session: Session, outcomes: list[StepOutcome]) -> None:
        """The goals a batch of steps made or changed in one statement (their LMS ids and
        fingerprints: one upsert for the batch instead of an upsert and a read per step);
        every other outcome through :meth:`remember`, in order (what was gathered is written
        first, and again whenever a goal comes back in the same batch)."""
        rows: dict[str, tuple[str, int, str | None]] = {}

        def flush() -> None:
            store.remember_fingerprints(session, site=self.site, kind=self.object_kind,
                                        rows=list(rows.values()))
            rows.clear()

        for outcome in outcomes:
            op = outcome.op
            if outcome.status == "done" and isinstance(op, GoalOp) and outcome.lms_id \
                    and not isinstance(op, self.deletes):
                if op.key in rows:
                    flush()
                rows[op.key] = (op.key, outcome.lms_id, op.fingerprint or None)
            else:
                flush()
                self.remember(session, outcome)
        flush()

    def remember(self, session: Session, outcome: StepOutcome) -> None:
        op = outcome.op
        if outcome.status != "done" or not isinstance(op, GoalOp):
            return
        if isinstance(op, self.deletes):
            store.forget_object(session, site=self.site, kind=self.object_kind,
                                external_id=op.key)
        elif outcome.lms_id:
            store.remember_object(session, site=self.site, kind=self.object_kind,
                                  external_id=op.key, lms_id=outcome.lms_id,
                                  fingerprint=op.fingerprint or None)


@dataclass
class GoalIds:
    """Plan ids by goal id (filled as creates land), and the plan ids the store claims."""

    plans: dict[str, int] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, op: GoalOp) -> int:
        """The plan's id. Raises KeyError when its create has not landed."""
        return op.lms_id or self.plans[op.goal_id]


class GoalApplier(GoalStepApplier[GoalIds]):
    """Applies goals plans to one site, journaling into the store; manager role batches
    run in lanes of their own."""

    object_kind = PLAN_KIND
    deletes = DeletePlan

    def remember(self, session: Session, outcome: StepOutcome) -> None:
        super().remember(session, outcome)
        op = outcome.op
        if outcome.status == "done" and isinstance(op, SetManagerRoles):
            for pair in op.pairs:
                if op.assign:
                    store.remember_object(session, site=self.site, kind=ROLE_KIND,
                                          external_id=pair.key, lms_id=pair.manager_id)
                else:
                    store.forget_object(session, site=self.site, kind=ROLE_KIND,
                                        external_id=pair.key)

    # -- one handler per operation kind -------------------------------------------------

    def _create(self, op: CreatePlan, ids: GoalIds) -> StepOutcome:
        """Create the plan. When the answer is lost (the create may still land), the plan is
        looked up by title; not found, the step fails instead of creating a possible second
        plan, and the next plan finds it by title (or creates it then)."""
        try:
            plan_id = self.client.create_plan(ep.PlanFields(**op.values)).id
            detail = "created"
        except e.LmsConnectionError as exc:
            found = self._lookup(op, ids)
            if found is None:
                return StepOutcome(op, "failed", f"the answer to the create was lost ({exc}); "
                                   "not created again now, in case it landed: the next "
                                   "apply finds the plan by its title or creates it")
            plan_id, detail = found, "found by its title after a lost answer"
        with ids.lock:
            ids.plans[op.goal_id] = plan_id
            ids.claimed.add(plan_id)
        return StepOutcome(op, "done", detail, plan_id)

    def _lookup(self, op: CreatePlan, ids: GoalIds) -> int | None:
        """The employee's plan with the goal's title that no other goal claims, if any."""
        plans = self.client.user_plans(op.user_id)
        with ids.lock:
            free = [p for p in plans if p.id not in ids.claimed
                    and same_name(str(op.values["name"]), p.name)]
        return max(p.id for p in free) if free else None

    def _adopt(self, op: AdoptPlan, ids: GoalIds) -> StepOutcome:
        with ids.lock:
            ids.plans[op.goal_id] = op.lms_id
            ids.claimed.add(op.lms_id)
        return StepOutcome(op, "done", "remembered as the goal's plan", op.lms_id)

    def _update(self, op: UpdatePlan, ids: GoalIds) -> StepOutcome:
        plan_id = ids.plan(op)
        values: dict[str, Any] = {c.field: c.after for c in op.changes}
        self.client.update_plan(ep.PlanFields(id=plan_id, **values))
        return StepOutcome(op, "done", "updated " + ", ".join(values), plan_id)

    def _add(self, op: AddPlanCompetency, ids: GoalIds) -> StepOutcome:
        plan_id = ids.plan(op)
        self.client.add_competency_to_plan(plan_id, op.competency_id)
        return StepOutcome(op, "done", f"added {op.idnumber}", plan_id)

    def _remove(self, op: RemovePlanCompetency, ids: GoalIds) -> StepOutcome:
        plan_id = ids.plan(op)
        self.client.remove_competency_from_plan(plan_id, op.competency_id)
        return StepOutcome(op, "done", f"removed {op.idnumber}", plan_id)

    def _status(self, op: GoalOp, ids: GoalIds) -> StepOutcome:
        plan_id = ids.plan(op)
        action: dict[type[Op], Callable[[int], bool]] = {
            ReopenPlan: self.client.reopen_plan, ApprovePlan: self.client.approve_plan,
            CompletePlan: self.client.complete_plan, DeletePlan: self.client.delete_plan}
        action[type(op)](plan_id)
        return StepOutcome(op, "done", _DONE[type(op)], plan_id)

    def _roles(self, op: SetManagerRoles, ids: GoalIds) -> StepOutcome:
        assignments = [ep.RoleAssignment(roleid=p.role_id, userid=p.manager_id,
                                         instanceid=p.employee_id) for p in op.pairs]
        try:
            self.client.assign_roles(assignments, assign=op.assign)
        except e.InvalidParameterError as exc:
            role = op.pairs[0].role_id if op.pairs else "?"
            return StepOutcome(op, "failed", f"{ROLE_REFUSED.format(role=role)} ({exc})")
        verb = "assigned" if op.assign else "unassigned"
        return StepOutcome(op, "done", f"{verb} for {len(op.pairs)} manager(s)")


_DONE: dict[type[Op], str] = {ReopenPlan: "reopened", ApprovePlan: "approved",
                              CompletePlan: "completed", DeletePlan: "deleted"}

GoalApplier.handlers = {
    CreatePlan: GoalApplier._create,
    AdoptPlan: GoalApplier._adopt,
    UpdatePlan: GoalApplier._update,
    AddPlanCompetency: GoalApplier._add,
    RemovePlanCompetency: GoalApplier._remove,
    ReopenPlan: GoalApplier._status,
    ApprovePlan: GoalApplier._status,
    CompletePlan: GoalApplier._status,
    DeletePlan: GoalApplier._status,
    SetManagerRoles: GoalApplier._roles,
}
