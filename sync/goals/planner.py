"""Goals versus what Moodle holds: the plan of steps for each goal, writing nothing.

Per goal, in the order Moodle needs: create the plan (or adopt one found by its title), reopen
a completed plan that must change ("Completed plan cannot be edited."), update its fields, add
and remove competencies, approve a draft that must be completed, complete it. A part of a plan
changed by hand in Moodle since lms-sidecar wrote it (its fingerprint in the store differs) is
reported as drift and left alone unless ``force``. Manager roles follow the export: assigned
where a goal names a manager, removed where lms-sidecar assigned one the export no longer
names (only for employees in the export).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from connector.moodle import models as m
from sync.goals.actual import GoalsActual, resolve_competency
from sync.goals.compare import (
    ACTIVE,
    COMPLETE,
    DRAFT_STATUSES,
    Fields,
    Fingerprint,
    competencies_part,
    digest,
    effective_due,
    fields_part,
    goal_fields,
    plan_fields,
    status_part,
)
from sync.goals.model import Goal, GoalStatus
from sync.goals.ops import (
    AddPlanCompetency,
    AdoptPlan,
    ApprovePlan,
    CompletePlan,
    CreatePlan,
    DeletePlan,
    GoalNote,
    GoalOp,
    ManagerPair,
    PlanDrift,
    RemovePlanCompetency,
    ReopenPlan,
    SetManagerRoles,
    UpdatePlan,
    orphan_notes,
    plan_key,
)
from sync.plan import Change, Op, Plan

ROLE_BATCH = 100  # pairs per core_role_assign_roles call (4 form variables each)


@dataclass(frozen=True)
class GoalOptions:
    """Choices that shape a goals plan (the ``goals`` config section, plus ``--force``)."""

    on_withdrawn: Literal["leave", "complete", "delete"] = "leave"
    plan_status: Literal["draft", "active"] = "active"
    manager_role: int | None = None
    force: bool = False
    now: int = 0

    @property
    def clock(self) -> int:
        return self.now or int(time.time())


def plan_goals(goals: Sequence[Goal], actual: GoalsActual, *, site: str,
               options: GoalOptions, sources: tuple[str, ...] = ()) -> Plan:
    """The plan that makes Moodle carry every goal of the export (see the module doc)."""
    ops: list[Op] = []
    for goal in goals:
        ops.extend(_GoalPlanner(goal, actual, options).ops())
    ops.extend(orphan_notes(goals, actual.employees, actual.stored, "plan left in Moodle"))
    ops.extend(manager_ops(goals, actual, options))
    return Plan(site=site, ops=tuple(ops), basis=basis(goals, actual), sources=sources)


def basis(goals: Sequence[Goal], actual: GoalsActual) -> dict[str, str]:
    """A digest per goal of what Moodle holds for it, and one of the manager roles held."""
    result = {}
    for goal in goals:
        user = actual.employees[goal.employee]
        plan = actual.plans.get(goal.goal_id)
        state: object = None
        if plan is not None:
            state = [plan.id, plan_fields(plan).canonical(), plan.status,
                     actual.competency_ids(plan.id)]
        result[goal.goal_id] = digest([user.id, state], 16)
    result["(manager roles)"] = digest(sorted(actual.stored_roles), 16)
    return result


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


class _GoalPlanner:
    def __init__(self, goal: Goal, actual: GoalsActual, options: GoalOptions) -> None:
        self.goal = goal
        self.actual = actual
        self.options = options
        self.user = actual.employees[goal.employee]
        self.plan = actual.plans.get(goal.goal_id)
        stored = actual.stored.get(plan_key(goal.goal_id, self.user.id))
        self.stored = Fingerprint.parse(stored.fingerprint) if stored else None
        self.wanted_ids = [resolved[1] for ref in goal.competencies
                           if isinstance(resolved := resolve_competency(ref, actual.competencies),
                                         tuple)]
        self.refs = dict(zip(self.wanted_ids, goal.competencies, strict=True))

    def op(self, cls: type[GoalOp], idnumber: str = "", reason: str = "",
           **values: object) -> GoalOp:
        return cls(self.goal.goal_id, idnumber, reason=reason, employee=self.goal.employee,
                   user_id=self.user.id, lms_id=self.plan.id if self.plan else 0,
                   **values)  # type: ignore[arg-type]

    def ops(self) -> list[Op]:
        goal = self.goal
        if goal.status is GoalStatus.WITHDRAWN:
            return self._withdrawn()
        if self.plan is None:
            if goal.goal_id in self.actual.deleted and not self.options.force:
                return [self.op(PlanDrift, reason="its plan was deleted in Moodle; "
                                "`--force` creates it again")]
            return self._create()
        return self._update(self.plan)

    def _withdrawn(self) -> list[Op]:
        plan, action = self.plan, self.options.on_withdrawn
        if plan is None:
            return []
        if action == "delete":
            return [self.op(DeletePlan, reason="goal withdrawn (on_withdrawn: delete)")]
        if action == "complete" and plan.status != COMPLETE:
            printed, ops = self._now_print(plan), []
            due = effective_due(plan.duedate, becomes_active=True, current=plan,
                                now=self.options.clock)
            if due != plan.duedate:
                fields = replace(plan_fields(plan), duedate=due)
                printed = replace(printed, fields=fields_part(fields))
                ops.append(self.op(UpdatePlan, reason="Moodle refuses to approve a plan whose "
                                   "due date has passed: due date emptied",
                                   changes=(Change("duedate", plan.duedate, due),),
                                   fingerprint=str(printed)))
            return ops + self._to_complete(plan, printed, "goal withdrawn "
                                           "(on_withdrawn: complete)")
        return [self.op(GoalNote, reason=f"goal withdrawn: plan left as it is "
                        f"(on_withdrawn: {action})")]

    def _now_print(self, plan: m.Plan) -> Fingerprint:
        current = Fingerprint.of(plan_fields(plan), self.actual.competency_ids(plan.id),
                                 plan.status)
        return self.stored or current

    def _create(self) -> list[Op]:
        goal, options = self.goal, self.options
        done = goal.status is GoalStatus.DONE
        active = done or options.plan_status == "active"
        due = effective_due(goal.due, becomes_active=active, current=None, now=options.clock)
        fields = goal_fields(goal, due)
        values = {"name": goal.title, "description": goal.description,
                  "descriptionformat": goal.descriptionformat, "duedate": due,
                  "userid": self.user.id, "status": ACTIVE if active else 0}
        printed = Fingerprint(fields_part(fields), competencies_part([]), "o")
        ops: list[Op] = [*self._due_note(due)]
        ops.append(self.op(CreatePlan, reason="new goal", values=values,
                           fingerprint=str(printed)))
        ids: list[int] = []
        for competency_id in self.wanted_ids:
            ids.append(competency_id)
            printed = replace(printed, competencies=competencies_part(ids))
            ops.append(self.op(AddPlanCompetency, self.refs[competency_id], "in the goal",
                               competency_id=competency_id, fingerprint=str(printed)))
        if done:
            ops.append(self.op(CompletePlan, reason="goal done",
                               fingerprint=str(replace(printed, status="c"))))
        return ops

    def _due_note(self, due: int) -> list[Op]:
        if due == self.goal.due:
            return []
        return [self.op(GoalNote, "duedate", reason=f"due date {_date(self.goal.due)} has "
                        "passed: Moodle refuses a past due date on an active plan, so it is "
                        "left empty")]

    def _update(self, plan: m.Plan) -> list[Op]:
        goal = self.goal
        done = goal.status is GoalStatus.DONE
        current_ids = self.actual.competency_ids(plan.id)
        due = effective_due(goal.due, becomes_active=done or plan.status not in DRAFT_STATUSES,
                            current=plan, now=self.options.clock)
        wanted, now = goal_fields(goal, due), plan_fields(plan)
        now_print = Fingerprint.of(now, current_ids, plan.status)
        base = self.stored or now_print
        changes = [Change(*diff) for diff in wanted.differences(now)]
        adds = [i for i in self.wanted_ids if i not in current_ids]
        removes = [i for i in current_ids if i not in self.wanted_ids]
        status_change = (plan.status == COMPLETE) != done
        drift: list[Change] = []
        if changes and base.fields != now_print.fields and not self.options.force:
            drift += changes
            changes = []
        if (adds or removes) and base.competencies != now_print.competencies and \
                not self.options.force:
            drift.append(Change("competencies", self._names(current_ids),
                                self._names(self.wanted_ids)))
            adds, removes = [], []
        if status_change and base.status != now_print.status and not self.options.force:
            drift.append(Change("status", plan.status, "complete" if done else "open"))
            status_change = False
        edits = bool(changes or adds or removes)
        if edits and plan.status == COMPLETE and not done and not status_change:
            drift.append(Change("(completed in Moodle)", "complete",
                                "edits need it reopened"))
            edits, changes, adds, removes = False, [], [], []
        ops: list[Op] = []
        if goal.goal_id in self.actual.adopted:
            ops.append(self.op(AdoptPlan, reason="found in Moodle by the goal's title; "
                               "lms-sidecar had no record of it", fingerprint=str(now_print)))
        if drift:
            ops.append(self.op(PlanDrift, reason="changed in Moodle since lms-sidecar wrote "
                               "it; `--force` overwrites", changes=tuple(drift)))
        ops += self._due_note(due) if any(c.field == "duedate" for c in changes) else []
        final = done if status_change else (True if edits and plan.status == COMPLETE
                                            else None)
        ops += self._steps(plan, base, wanted, changes, adds, removes, final)
        return ops

    def _steps(self, plan: m.Plan, base: Fingerprint, wanted: Fields, changes: list[Change],
               adds: list[int], removes: list[int], done: bool | None) -> list[Op]:
        """The writing steps in Moodle's order; ``done`` None leaves the status alone."""
        printed = base
        ops: list[Op] = []
        complete = plan.status == COMPLETE
        forced = self.stored is not None and self.options.force
        why = " (overwriting a change made in Moodle: --force)" if forced else ""
        if complete and (changes or adds or removes or done is False):
            printed = replace(printed, status="o")
            ops.append(self.op(ReopenPlan, reason="a completed plan cannot be edited"
                               if done else "goal active again", fingerprint=str(printed)))
        if changes:
            printed = replace(printed, fields=fields_part(wanted))
            ops.append(self.op(UpdatePlan, reason="goal changed" + why,
                               changes=tuple(changes), fingerprint=str(printed)))
        ids = list(self.actual.competency_ids(plan.id))
        for competency_id in adds:
            ids.append(competency_id)
            printed = replace(printed, competencies=competencies_part(ids))
            ops.append(self.op(AddPlanCompetency, self.refs[competency_id],
                               "added to the goal" + why, competency_id=competency_id,
                               fingerprint=str(printed)))
        for competency_id in removes:
            ids.remove(competency_id)
            printed = replace(printed, competencies=competencies_part(ids))
            ops.append(self.op(RemovePlanCompetency, self._name(competency_id),
                               "no longer in the goal" + why, competency_id=competency_id,
                               fingerprint=str(printed)))
        if done and (not complete or ops):
            ops += self._to_complete(plan, printed, "goal done")
        return ops

    def _to_complete(self, plan: m.Plan, printed: Fingerprint, reason: str) -> list[Op]:
        ops: list[Op] = []
        if plan.status in DRAFT_STATUSES:
            ops.append(self.op(ApprovePlan, reason="a draft plan must be active to be "
                               "completed", fingerprint=str(printed)))
        ops.append(self.op(CompletePlan, reason=reason,
                           fingerprint=str(replace(printed, status=status_part(COMPLETE)))))
        return ops

    def _name(self, competency_id: int) -> str:
        for item in self.actual.plan_competencies.get(self.plan.id if self.plan else 0, ()):
            if item.competency.id == competency_id:
                return item.competency.idnumber
        return self.refs.get(competency_id, str(competency_id))

    def _names(self, ids: Sequence[int]) -> str:
        return ", ".join(sorted(self._name(i) for i in ids)) or "(none)"


def manager_ops(goals: Sequence[Goal], actual: GoalsActual,
                options: GoalOptions) -> list[Op]:
    """Assign the role to every goal's manager; unassign those lms-sidecar assigned that the
    export no longer names, for employees in the export. Batches of ROLE_BATCH pairs."""
    role = options.manager_role
    wanted: dict[str, ManagerPair] = {}
    employees = set()
    for goal in goals:
        employee = actual.employees[goal.employee]
        employees.add(employee.id)
        dropped = goal.status is GoalStatus.WITHDRAWN and options.on_withdrawn == "delete"
        if role is None or not goal.manager or dropped:
            continue
        manager = actual.managers[goal.manager]
        pair = ManagerPair(employee.id, manager.id, role, goal.employee, goal.manager)
        wanted.setdefault(pair.key, pair)
    assign = [p for key, p in wanted.items() if key not in actual.stored_roles]
    unassign = [p for key, p in sorted(actual.stored_roles.items())
                if key not in wanted and p.employee_id in employees]
    ops: list[Op] = []
    for flag, pairs in ((True, assign), (False, unassign)):
        for start in range(0, len(pairs), ROLE_BATCH):
            batch = tuple(pairs[start:start + ROLE_BATCH])
            reason = ("manager named in the export" if flag else
                      "no longer the manager in the export")
            ops.append(SetManagerRoles("(managers)", f"{'assign' if flag else 'unassign'}-"
                                       f"{start // ROLE_BATCH + 1}", reason=reason,
                                       assign=flag, pairs=batch))
    return ops
