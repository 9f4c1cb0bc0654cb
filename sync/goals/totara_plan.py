"""Goals versus what Totara holds: read the employees' perform goals, plan the steps.

People are found through ``core_user_users`` by the key the export uses (email, username or
idnumber; emails case-insensitive). Each employee's goals are read with
``perform_goal_user_goals`` (every page), one employee per call, concurrently; a goal of the
export is the employee's goal with its ``id_number``. Per goal: create it, adopt it (found by
its id_number without a record in the store), update the fields and status that differ, or
report drift (changed in Totara since lms-sidecar wrote it; ``--force`` overwrites). Goals
gone from the export are reported and left, as on Moodle; withdrawn goals follow
``goals.on_withdrawn``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

import store
from connector import errors as e
from connector.totara import models as tm
from connector.totara.client import TotaraClient
from sync.errors import PlanError, SourceError, SourceProblem
from sync.goals.actual import Stored
from sync.goals.compare import digest
from sync.goals.model import Goal, GoalStatus
from sync.goals.ops import GoalNote, GoalOp, PlanDrift, orphan_notes, plan_key
from sync.goals.planner import GoalOptions
from sync.goals.totara_ops import (
    COMPLETED,
    GOAL_KIND,
    ID_NUMBER_MAX,
    IN_PROGRESS,
    AdoptGoal,
    CreateGoal,
    DeleteGoal,
    Print,
    UpdateGoal,
    create_values,
    held_fields,
    id_number,
    status_part,
    wanted_fields,
)
from sync.plan import Change, Op, Plan

PersonKey = str  # "email" | "username" | "idnumber"
NO_GOALS = ("this Totara site has no perform goals ({name} is not in its API; the contract "
            "puts them in Totara 18 or later): switch features.goals off, or upgrade; "
            "`sidecar check` lists what the site offers")
CARRIED_NOT = ("Totara's API has no competencies or learning plans: the export's competencies "
               "are not carried to Totara, and managers see their reports' goals through job "
               "assignments (no role is assigned)")


@dataclass
class TotaraActual:
    """Totara's side of every goal: the employees, their perform goals, the store's records."""

    employees: dict[str, tm.UserRef] = field(default_factory=dict)
    goals: dict[int, list[tm.Goal]] = field(default_factory=dict)  # user id -> goals
    stored: dict[str, Stored] = field(default_factory=dict)  # "<goal id>@<user id>" -> record

    def goal(self, goal: Goal) -> tm.Goal | None:
        """The employee's perform goal with the export goal's id_number, if any."""
        wanted = id_number(goal.goal_id)
        user = self.employees[goal.employee]
        return next((g for g in self.goals.get(user.id, ()) if g.id_number == wanted), None)


def _key(person_key: PersonKey, value: str | None) -> str:
    text = (value or "").strip()
    return text.lower() if person_key == "email" else text


def read_actual(client: TotaraClient, sessions: sessionmaker[Session], site: str,
                goals: Sequence[Goal], employee_key: PersonKey) -> TotaraActual:
    """What Totara and the store hold for ``goals``. Unknown employees and id_numbers too long
    are raised together with their lines (SourceError) before any goal is read.

    Raises:
        SourceError: the export's problems, with file and line.
        PlanError: the site has no perform goals (Totara 17).
        LmsError: Totara could not be read.
    """
    actual = TotaraActual()
    users = {_key(employee_key, getattr(u, employee_key)): u for u in client.users()}
    problems = []
    for goal in goals:
        found = users.get(_key(employee_key, goal.employee))
        if found is None:
            problems.append(SourceProblem(goal.file, f"goal {goal.goal_id}: no Totara user "
                                          f"with {employee_key} {goal.employee!r}", goal.line))
        else:
            actual.employees[goal.employee] = found
        if len(id_number(goal.goal_id)) > ID_NUMBER_MAX:
            problems.append(SourceProblem(goal.file, f"goal {goal.goal_id}: the goal id is too "
                                          f"long for a Totara id_number (at most "
                                          f"{ID_NUMBER_MAX} characters with its prefix)",
                                          goal.line))
    if problems:
        raise SourceError(problems)
    with store.session_scope(sessions) as session:
        rows = store.objects_by_external_id(session, site, GOAL_KIND)
    actual.stored = {key: Stored(row.lms_id, row.fingerprint) for key, row in rows.items()}
    actual.goals = read_goals(client, sorted({u.id for u in actual.employees.values()}))
    return actual


def read_goals(client: TotaraClient, user_ids: Sequence[int]) -> dict[int, list[tm.Goal]]:
    """Each user's perform goals, every page, users read concurrently.

    Raises:
        PlanError: the site has no ``perform_goal_user_goals`` (Totara 17).
    """
    try:
        with ThreadPoolExecutor(max_workers=client.concurrency) as pool:
            return dict(zip(user_ids, pool.map(client.user_goals, user_ids), strict=True))
    except e.UnknownOperationError as exc:
        raise PlanError(NO_GOALS.format(name="perform_goal_user_goals")) from exc


def basis(goals: Sequence[Goal], actual: TotaraActual) -> dict[str, str]:
    """A digest per goal of what Totara holds for it (a saved plan must still match)."""
    result = {}
    for goal in goals:
        held = actual.goal(goal)
        state = None if held is None else [held.id, held_fields(held).canonical(), held.status]
        result[goal.goal_id] = digest([actual.employees[goal.employee].id, state], 16)
    return result


def plan_totara_goals(goals: Sequence[Goal], actual: TotaraActual, *, site: str,
                      options: GoalOptions, timezone: str,
                      sources: tuple[str, ...] = ()) -> Plan:
    """The plan that makes Totara carry every goal of the export (see the module doc)."""
    ops: list[Op] = []
    if any(g.competencies or g.manager for g in goals):
        ops.append(GoalNote("(export)", "", reason=CARRIED_NOT))
    for goal in goals:
        ops.extend(_GoalPlanner(goal, actual, options, timezone).ops())
    ops.extend(orphan_notes(goals, actual.employees, actual.stored, "goal left in Totara"))
    return Plan(site=site, ops=tuple(ops), basis=basis(goals, actual), sources=sources)


class _GoalPlanner:
    def __init__(self, goal: Goal, actual: TotaraActual, options: GoalOptions,
                 timezone: str) -> None:
        self.goal, self.options, self.timezone = goal, options, timezone
        self.user = actual.employees[goal.employee]
        self.held = actual.goal(goal)
        self.key = plan_key(goal.goal_id, self.user.id)
        self.stored = actual.stored.get(self.key)

    def op(self, cls: type[GoalOp], reason: str, **values: object) -> GoalOp:
        extra = {"id_number": id_number(self.goal.goal_id)} if cls not in (
            GoalNote, PlanDrift) else {}
        return cls(self.goal.goal_id, "", reason=reason, employee=self.goal.employee,
                   user_id=self.user.id, lms_id=self.held.id if self.held else 0,
                   **extra, **values)  # type: ignore[arg-type]

    def ops(self) -> list[Op]:
        if self.goal.status is GoalStatus.WITHDRAWN:
            return self._withdrawn()
        if self.held is None:
            if self.stored is not None and not self.options.force:
                return [self.op(PlanDrift, "its goal was deleted in Totara; `--force` "
                                "creates it again")]
            values = create_values(self.goal, self.user.id, self.timezone)
            printed = Print(wanted_fields(self.goal, self.timezone).digest(),
                            status_part(values["status"]))
            return [self.op(CreateGoal, "new goal", values=values, fingerprint=str(printed))]
        return self._update(self.held)

    def _withdrawn(self) -> list[Op]:
        held, action = self.held, self.options.on_withdrawn
        if held is None:
            return []
        if action == "delete":
            return [self.op(DeleteGoal, "goal withdrawn (on_withdrawn: delete)")]
        if action == "complete" and held.status != COMPLETED:
            update = self.op(UpdateGoal, "goal withdrawn (on_withdrawn: complete)",
                             changes=(Change("status", held.status, COMPLETED),),
                             fingerprint=str(Print(Print.of(held).fields, "c")))
            return [*self._adopted(held), update]
        return [self.op(GoalNote, f"goal withdrawn: goal left as it is "
                        f"(on_withdrawn: {action})")]

    def _adopted(self, held: tm.Goal) -> list[Op]:
        if self.stored is not None and self.stored.plan_id == held.id:
            return []
        return [self.op(AdoptGoal, "found in Totara by its id_number; lms-sidecar had no "
                        "record of it", fingerprint=str(Print.of(held)))]

    def _update(self, held: tm.Goal) -> list[Op]:
        now = Print.of(held)
        base = (Print.parse(self.stored.fingerprint) if self.stored else None) or now
        wanted = wanted_fields(self.goal, self.timezone)
        changes = [Change(*diff) for diff in wanted.differences(held_fields(held))]
        done = self.goal.status is GoalStatus.DONE
        status = None
        if done and held.status != COMPLETED:
            status = COMPLETED
        elif not done and held.status == COMPLETED:
            status = IN_PROGRESS
        drift: list[Change] = []
        forced = self.options.force and self.stored is not None
        if changes and base.fields != now.fields and not self.options.force:
            drift, changes = drift + changes, []
        if status and base.status != now.status and not self.options.force:
            drift.append(Change("status", held.status, status))
            status = None
        ops = self._adopted(held)
        if drift:
            ops.append(self.op(PlanDrift, "changed in Totara since lms-sidecar wrote it; "
                               "`--force` overwrites", changes=tuple(drift)))
        if status:
            changes.append(Change("status", held.status, status))
        if changes:
            printed = Print(wanted.digest() if any(c.field != "status" for c in changes)
                            else base.fields, status_part(status) if status else base.status)
            why = "goal done" if status == COMPLETED and len(changes) == 1 else (
                "goal active again" if status == IN_PROGRESS and len(changes) == 1
                else "goal changed")
            ops.append(self.op(UpdateGoal, why + (" (overwriting a change made in Totara: "
                                                   "--force)" if forced else ""),
                               changes=tuple(changes), fingerprint=str(printed)))
        return ops
