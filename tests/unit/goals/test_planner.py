"""The goals planner on made-up Moodle states: creates, updates, drift, the reopen path,
withdrawn goals, manager changes; no HTTP."""

from __future__ import annotations

from dataclasses import replace

from connector.moodle import models as m
from sync.goals import Goal, GoalOptions, GoalStatus, plan_goals
from sync.goals.actual import GoalsActual, Stored
from sync.goals.compare import Fingerprint, plan_fields
from sync.goals.ops import ManagerPair, PlanDrift, SetManagerRoles, plan_key
from sync.plan import Plan

NOW = 1_795_000_000
FUTURE = NOW + 100 * 86400
EMPLOYEE = m.User(id=55, email="amelie@x.org")
MANAGERS = {"boss@x.org": m.User(id=57, email="boss@x.org"),
            "new@x.org": m.User(id=58, email="new@x.org")}
COMPETENCIES = {"C-1": {"FW": 101}, "C-2": {"FW": 102}, "C-3": {"FW": 103, "OTHER": 203}}


def goal(**values: object) -> Goal:
    base = Goal(goal_id="G-1", employee="amelie@x.org", title="Lead meetings",
                status=GoalStatus.ACTIVE, description="Agenda first.", due=FUTURE,
                manager="boss@x.org", competencies=("C-1", "C-2"), file="goals.csv", line=2)
    return replace(base, **values)  # type: ignore[arg-type]


def moodle_plan(**values: object) -> m.Plan:
    data = {"id": 6, "name": "Lead meetings", "description": "Agenda first.",
            "descriptionformat": 2, "userid": 55, "status": 1, "duedate": FUTURE}
    data.update(values)
    return m.Plan(**data)  # type: ignore[arg-type]


def item(competency_id: int) -> m.PlanCompetency:
    return m.PlanCompetency(competency=m.Competency(
        id=competency_id, shortname=f"C{competency_id}", idnumber=f"C-{competency_id - 100}",
        competencyframeworkid=1))


def actual(plan: m.Plan | None = None, ids: tuple[int, ...] = (101, 102),
           stored: Fingerprint | bool | None = True,
           roles: tuple[ManagerPair, ...] = ()) -> GoalsActual:
    state = GoalsActual(employees={"amelie@x.org": EMPLOYEE}, managers=dict(MANAGERS),
                        competencies=COMPETENCIES)
    if plan is not None:
        state.plans["G-1"] = plan
        state.plan_competencies[plan.id] = tuple(item(i) for i in ids)
        if stored is not False:
            printed = stored if isinstance(stored, Fingerprint) else Fingerprint.of(
                plan_fields(plan), ids, plan.status)
            state.stored[plan_key("G-1", 55)] = Stored(plan.id, str(printed))
    state.stored_roles = {p.key: p for p in roles}
    return state


def make(goals: list[Goal], state: GoalsActual, **options: object) -> Plan:
    return plan_goals(goals, state, site="https://lms.test",
                      options=GoalOptions(manager_role=9, now=NOW, **options))  # type: ignore[arg-type]


def kinds(plan: Plan) -> list[str]:
    return [op.kind for op in plan.changes]


BOSS = ManagerPair(55, 57, 9)


def test_a_new_goal_creates_its_plan_competencies_and_manager_role() -> None:
    plan = make([goal()], actual())
    assert kinds(plan) == ["create_plan", "add_plan_competency", "add_plan_competency",
                           "manager_roles"]
    create = plan.changes[0]
    assert create.values["status"] == 1 and create.values["descriptionformat"] == 2
    # each step carries what the store will hold once it has landed
    assert plan.changes[2].fingerprint == str(Fingerprint.of(
        plan_fields(moodle_plan(status=0)), [101, 102], 1))


def test_unchanged_goal_plans_nothing() -> None:
    assert make([goal()], actual(moodle_plan(), roles=(BOSS,))).is_empty


def test_changed_goal_updates_fields_and_competencies() -> None:
    plan = make([goal(title="Lead better meetings", competencies=("C-1", "FW:C-3"))],
                actual(moodle_plan(), roles=(BOSS,)))
    assert kinds(plan) == ["update_plan", "add_plan_competency", "remove_plan_competency"]
    [change] = plan.changes[0].changes
    assert (change.field, change.before, change.after) == ("name", "Lead meetings",
                                                           "Lead better meetings")
    assert plan.changes[1].competency_id == 103


def test_hand_edit_is_drift_unless_forced() -> None:
    edited = moodle_plan(name="Renamed in Moodle")
    written = Fingerprint.of(plan_fields(moodle_plan()), [101, 102], 1)
    state = actual(edited, stored=written, roles=(BOSS,))
    plan = make([goal()], state)
    assert plan.is_empty
    [drift] = [op for op in plan.ops if isinstance(op, PlanDrift)]
    assert drift.changes[0].before == "Renamed in Moodle"
    assert kinds(make([goal()], state, force=True)) == ["update_plan"]
    # an edit made in Moodle that the export also makes is no drift
    assert make([goal(title="Renamed in Moodle")], state).is_empty


def test_done_completes_and_a_completed_plan_is_reopened_to_edit() -> None:
    assert kinds(make([goal(status=GoalStatus.DONE)], actual(moodle_plan(), roles=(BOSS,)))) \
        == ["complete_plan"]
    completed = actual(moodle_plan(status=2), roles=(BOSS,))
    assert kinds(make([goal(status=GoalStatus.DONE, title="New")], completed)) == [
        "reopen_plan", "update_plan", "complete_plan"]
    assert kinds(make([goal()], completed)) == ["reopen_plan"]
    draft = actual(moodle_plan(status=0), roles=(BOSS,))
    assert kinds(make([goal(status=GoalStatus.DONE)], draft)) == ["approve_plan",
                                                                   "complete_plan"]


def test_a_past_due_date_is_left_empty_where_moodle_refuses_it() -> None:
    past = NOW - 86400
    plan = make([goal(status=GoalStatus.DONE, due=past)], actual())
    assert plan.changes[0].values["duedate"] == 0
    assert any(op.kind == "goal_note" for op in plan.ops)
    draft = make([goal(due=past)], actual(), plan_status="draft")
    assert draft.changes[0].values["duedate"] == past  # a draft keeps it


def test_withdrawn_goals_follow_the_config() -> None:
    state = actual(moodle_plan(), roles=(BOSS,))
    withdrawn = goal(status=GoalStatus.WITHDRAWN)
    assert make([withdrawn], state).is_empty
    assert kinds(make([withdrawn], state, on_withdrawn="complete")) == ["complete_plan"]
    assert kinds(make([withdrawn], state, on_withdrawn="delete")) == ["delete_plan",
                                                                      "manager_roles"]
    assert make([withdrawn], actual(), on_withdrawn="delete").is_empty  # no plan: nothing


def test_a_new_manager_gets_the_role_and_the_old_one_loses_it() -> None:
    plan = make([goal(manager="new@x.org")], actual(moodle_plan(), roles=(BOSS,)))
    roles = [op for op in plan.changes if isinstance(op, SetManagerRoles)]
    assert [(op.assign, [p.manager_id for p in op.pairs]) for op in roles] == [
        (True, [58]), (False, [57])]
    other = ManagerPair(99, 57, 9)  # an employee not in this export: left alone
    plan = make([goal()], actual(moodle_plan(), roles=(BOSS, other)))
    assert plan.is_empty


def test_saved_plans_round_trip() -> None:
    from sync.goals.ops import from_saved

    plan = make([goal(manager="new@x.org")], actual(moodle_plan(), roles=(BOSS,)))
    again = Plan.from_json(plan.to_json())
    assert [from_saved(op) for op in again.ops] == list(plan.ops)
