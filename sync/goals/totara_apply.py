"""Carry out a Totara goals plan on the journaled, staged applier of :mod:`sync.apply`.

Each goal's steps run in order in their own lane; every step is journaled and the store learns
the goal's id and fingerprint as it lands (both as on Moodle, in
:class:`sync.goals.apply.GoalStepApplier`). A create whose answer was lost (timeout, reset) is
looked up among the employee's goals by its ``id_number`` first; only when it is not there is
it sent once more, which cannot make a second goal because Totara refuses an id_number the
employee's goals already use (and that refusal is answered by looking it up again).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from connector import errors as e
from connector.totara.client import TotaraClient
from sync.apply import StepOutcome
from sync.goals.apply import GoalStepApplier
from sync.goals.totara_ops import (
    GOAL_KIND,
    AdoptGoal,
    CreateGoal,
    DeleteGoal,
    TotaraGoalOp,
    UpdateGoal,
)


@dataclass
class TotaraIds:
    """Perform goal ids by export goal id, filled as creates land."""

    goals: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def goal(self, op: TotaraGoalOp) -> int:
        """The goal's id. Raises KeyError when its create has not landed."""
        return op.lms_id or self.goals[op.goal_id]

    def found(self, op: TotaraGoalOp, goal_id: int) -> None:
        with self.lock:
            self.goals[op.goal_id] = goal_id


class TotaraGoalApplier(GoalStepApplier[TotaraIds, TotaraClient]):
    """Applies Totara goals plans to one site, journaling into the store."""

    object_kind = GOAL_KIND
    deletes = DeleteGoal

    def _lookup(self, op: TotaraGoalOp) -> int | None:
        """The id of the employee's goal with the op's id_number, if there is one."""
        return next((g.id for g in self.client.user_goals(op.user_id)
                     if g.id_number == op.id_number), None)

    def _create(self, op: CreateGoal, ids: TotaraIds) -> StepOutcome:
        """Create the goal; a lost answer or a refused id_number is looked up first."""
        try:
            goal_id, detail = self.client.create_goal(op.values).id, "created"
        except (e.LmsConnectionError, e.MutationFailedError) as exc:
            found = self._lookup(op)
            if found is not None:
                goal_id, detail = found, f"found by its id_number {op.id_number} ({exc})"
            elif isinstance(exc, e.MutationFailedError):
                return StepOutcome(op, "failed", f"Totara refused the goal: {exc}")
            else:
                return self._create_again(op, ids, exc)
        ids.found(op, goal_id)
        return StepOutcome(op, "done", detail, goal_id)

    def _create_again(self, op: CreateGoal, ids: TotaraIds,
                      lost: e.LmsConnectionError) -> StepOutcome:
        """One more create after a lost answer whose goal is not there: the id_number keeps
        Totara from making a second one."""
        try:
            goal_id = self.client.create_goal(op.values).id
        except e.MutationFailedError as exc:
            found = self._lookup(op)
            if found is None:
                return StepOutcome(op, "failed", f"Totara refused the goal: {exc}")
            goal_id = found
        except e.LmsConnectionError as exc:
            return StepOutcome(op, "failed", f"the answer to the create was lost twice "
                               f"({lost}; {exc}); the next apply finds the goal by its "
                               f"id_number {op.id_number} or creates it")
        ids.found(op, goal_id)
        return StepOutcome(op, "done", "created after a lost answer (not found by its "
                           "id_number first)", goal_id)

    def _adopt(self, op: AdoptGoal, ids: TotaraIds) -> StepOutcome:
        ids.found(op, op.lms_id)
        return StepOutcome(op, "done", "remembered as the goal's", op.lms_id)

    def _update(self, op: UpdateGoal, ids: TotaraIds) -> StepOutcome:
        goal_id = ids.goal(op)
        values = {c.field: c.after for c in op.changes}
        self.client.update_goal(goal_id, values)
        return StepOutcome(op, "done", "updated " + ", ".join(values), goal_id)

    def _delete(self, op: DeleteGoal, ids: TotaraIds) -> StepOutcome:
        goal_id = ids.goal(op)
        self.client.delete_goal(goal_id)
        return StepOutcome(op, "done", "deleted", goal_id)


TotaraGoalApplier.handlers = {
    CreateGoal: TotaraGoalApplier._create,
    AdoptGoal: TotaraGoalApplier._adopt,
    UpdateGoal: TotaraGoalApplier._update,
    DeleteGoal: TotaraGoalApplier._delete,
}
