"""Goals on Totara without a site: the planner on made-up Totara states, and plan/apply through
the real client against a faked GraphQL endpoint (``responses``): lost create answers found by
id_number and never made twice, re-runs that plan nothing and write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from sqlalchemy import Engine

import store
from connector.retry import RetryPolicy
from connector.totara import models as tm
from sync.goals import Goal, GoalOptions, GoalStatus, GoalSync
from sync.goals.actual import Stored
from sync.goals.ops import GoalNote, PlanDrift, plan_key
from sync.goals.totara import totara_goal_sync
from sync.goals.totara_ops import Print, create_values, wanted_fields
from sync.goals.totara_plan import TotaraActual, plan_totara_goals
from tests.support import (
    Reply,
    fake_totara,
    graphql_call,
    graphql_reply,
    migrated_store,
    totara_client,
)

SITE = "https://totara.example.org"
ZONE = "Europe/Berlin"
DUE = int(datetime(2027, 6, 30, 23, 59, tzinfo=ZoneInfo(ZONE)).timestamp())
START = int(datetime(2026, 1, 1, tzinfo=ZoneInfo(ZONE)).timestamp())
EMPLOYEE = tm.UserRef(id=55, email="amelie@x.org", username="amelie")


def goal(**values: object) -> Goal:
    base = Goal(goal_id="G-1", employee="amelie@x.org", title="Lead meetings",
                status=GoalStatus.ACTIVE, description="Agenda first.", start=START, due=DUE,
                file="goals.csv", line=2)
    return replace(base, **values)  # type: ignore[arg-type]


def held(**values: object) -> tm.Goal:
    data: dict[str, Any] = {"id": 900, "id_number": "hr:G-1", "name": "Lead meetings",
                            "description": "Agenda first.", "start_date": "2026-01-01",
                            "target_date": "2027-06-30", "target_value": 100,
                            "current_value": 0, "status": "not_started"}
    data.update(values)
    return tm.Goal(**data)


def actual(*goals: tm.Goal, stored: str | None = "same") -> TotaraActual:
    state = TotaraActual(employees={"amelie@x.org": EMPLOYEE}, goals={55: list(goals)})
    if stored is not None and goals:
        printed = str(Print.of(goals[0])) if stored == "same" else stored
        state.stored[plan_key("G-1", 55)] = Stored(goals[0].id, printed)
    return state


def plan(goals: list[Goal], state: TotaraActual, **options: object):
    return plan_totara_goals(goals, state, site=SITE, options=GoalOptions(**options),  # type: ignore[arg-type]
                             timezone=ZONE)


def test_a_new_goal_is_created_with_the_contract_fields_in_the_export_time_zone() -> None:
    [create] = plan([goal()], actual()).changes
    assert create.kind == "create_goal"
    assert create.values == {  # type: ignore[attr-defined]
        "name": "Lead meetings", "user": {"id": 55}, "id_number": "hr:G-1",
        "description": "Agenda first.", "target_type": "date", "target_value": 100.0,
        "current_value": 0.0, "status": "not_started", "start_date": "2026-01-01",
        "target_date": "2027-06-30"}
    done = create_values(goal(status=GoalStatus.DONE, start=0, due=0), 55, ZONE)
    assert done["status"] == "completed" and "target_date" not in done


def test_an_unchanged_goal_plans_nothing_and_changes_update_only_what_differs() -> None:
    assert plan([goal()], actual(held())).ops == ()
    [moved] = plan([goal()], actual(held(target_date="2027-07-31"))).changes
    assert [(c.field, c.after) for c in moved.changes] == [("target_date", "2027-06-30")]  # type: ignore[attr-defined]
    [update] = plan([goal(title="Lead the meeting")], actual(held())).changes
    assert [(c.field, c.before, c.after) for c in update.changes] == [  # type: ignore[attr-defined]
        ("name", "Lead meetings", "Lead the meeting")]


def test_dates_answered_as_timestamps_or_date_times_compare_as_days() -> None:
    noon = str(int(datetime(2027, 6, 30, 12, tzinfo=ZoneInfo("UTC")).timestamp()))
    assert plan([goal()], actual(held(target_date=noon))).ops == ()
    assert plan([goal()], actual(held(start_date="2026-01-01T00:00:00+01:00"))).ops == ()


def test_done_completes_and_active_again_reopens_as_in_progress() -> None:
    [done] = plan([goal(status=GoalStatus.DONE)], actual(held())).changes
    assert [(c.field, c.after) for c in done.changes] == [("status", "completed")]  # type: ignore[attr-defined]
    assert done.fingerprint.endswith(".Sc")  # type: ignore[attr-defined]
    [again] = plan([goal()], actual(held(status="completed"))).changes
    assert [(c.field, c.after) for c in again.changes] == [("status", "in_progress")]  # type: ignore[attr-defined]
    assert plan([goal()], actual(held(status="in_progress"))).ops == ()  # the learner's own


def test_a_hand_edit_is_drift_left_alone_unless_forced() -> None:
    wrote = str(Print.of(held()))
    edited = held(name="Renamed by the learner")
    assert plan([goal()], actual(edited, stored=wrote)).is_empty
    drift = plan([goal(description="New")], actual(edited, stored=wrote))
    assert drift.is_empty and isinstance(drift.ops[0], PlanDrift)
    forced = plan([goal(description="New")], actual(edited, stored=wrote), force=True)
    assert [op.kind for op in forced.changes] == ["update_goal"]
    assert "--force" in forced.changes[0].reason


def test_a_goal_deleted_in_totara_is_not_made_again_unless_forced() -> None:
    state = actual(held())
    state.goals[55] = []
    assert isinstance(plan([goal()], state).ops[0], PlanDrift)
    assert [op.kind for op in plan([goal()], state, force=True).changes] == ["create_goal"]


def test_a_goal_found_by_id_number_without_a_record_is_adopted() -> None:
    assert [op.kind for op in plan([goal()], actual(held(), stored=None)).changes] == [
        "adopt_goal"]
    other = held(id_number="hr:G-OTHER")
    assert [op.kind for op in plan([goal()], actual(other, stored=None)).changes] == [
        "create_goal"]


def test_withdrawn_goals_follow_on_withdrawn_and_gone_goals_are_left() -> None:
    withdrawn = goal(status=GoalStatus.WITHDRAWN)
    leave = plan([withdrawn], actual(held()))
    assert leave.is_empty and "on_withdrawn: leave" in leave.ops[0].reason
    assert [op.kind for op in plan([withdrawn], actual(held()), on_withdrawn="delete"
                                   ).changes] == ["delete_goal"]
    [complete] = plan([withdrawn], actual(held()), on_withdrawn="complete").changes
    assert [(c.field, c.after) for c in complete.changes] == [("status", "completed")]  # type: ignore[attr-defined]
    assert plan([withdrawn], actual()).ops == ()
    gone = plan([goal(goal_id="G-2")], actual(held()))
    assert [op.reason for op in gone.ops if isinstance(op, GoalNote)] == [
        "no longer in the export for this employee: goal left in Totara"]


def test_the_export_competencies_are_said_not_to_be_carried() -> None:
    noted = plan([goal(competencies=("C-1",))], actual(held()))
    assert noted.is_empty and "competencies are not carried" in noted.ops[0].reason
    assert wanted_fields(goal(), "UTC").target_date == "2027-06-30"


# -- plan and apply through the client against a faked endpoint ----------------------------

class FakeTotara:
    """The contract's user and goal operations; ``lose`` names operations whose answer is
    lost (after the write when ``after``), ``calls`` lists every operation sent."""

    def __init__(self) -> None:
        self.users = [{"id": 55, "username": "amelie", "idnumber": "E55",
                       "email": "Amelie@X.org"}]
        self.goals: list[dict[str, Any]] = []
        self.lose: dict[str, bool] = {}
        self.calls: list[str] = []

    def __call__(self, request: requests.PreparedRequest) -> Reply:
        name, variables = graphql_call(request)
        self.calls.append(name)
        after = self.lose.pop(name, None)
        if after is False:
            raise requests.ConnectionError("connection reset before the write")
        answer = getattr(self, name)(variables)
        if after:
            raise requests.ConnectionError("connection reset after the write")
        return graphql_reply(name, answer)

    def core_user_users(self, variables: dict[str, Any]) -> dict[str, Any]:
        return {"items": self.users, "total": len(self.users), "next_cursor": ""}

    def perform_goal_user_goals(self, variables: dict[str, Any]) -> dict[str, Any]:
        user = variables["input"]["filters"]["user"]["id"]
        items = [g for g in self.goals if g["user"] == user]
        return {"items": items, "total": len(items), "next_cursor": ""}

    def perform_goal_create_goal(self, variables: dict[str, Any]) -> dict[str, Any]:
        data = variables["input"]
        if any(g["id_number"] == data["id_number"] and g["user"] == data["user"]["id"]
               for g in self.goals):
            return {"success": False, "goal": None,
                    "errors": [{"code": "duplicate_id_number", "message": "in use"}]}
        goal = {**{k: v for k, v in data.items() if k != "user"}, "id": 900 + len(self.goals),
                "user": data["user"]["id"]}
        self.goals.append(goal)
        return {"success": True, "errors": [], "goal": goal}

    def perform_goal_update_goal(self, variables: dict[str, Any]) -> dict[str, Any]:
        data = dict(variables["input"])
        reference = data.pop("goal_reference")
        [goal] = [g for g in self.goals if g["id"] == reference["id"]]
        goal.update(data)
        return {"success": True, "errors": [], "goal": goal}


@pytest.fixture
def fake() -> Iterator[FakeTotara]:
    fake = FakeTotara()
    with responses.RequestsMock() as rsps:
        fake_totara(rsps, SITE, fake)
        yield fake


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_store(tmp_path) as engine:
        yield engine


def sync_for(engine: Engine, export: Path) -> GoalSync:
    client = totara_client(SITE, RetryPolicy(attempts=1))
    return totara_goal_sync(client, engine, SITE, (export,), timezone=ZONE)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "goals.csv"
    path.write_text("goal_id,employee,title,description,start_date,due_date,status\n"
                    "G-1,amelie@x.org,Lead meetings,Agenda first.,2026-01-01,2027-06-30,"
                    "active\n", encoding="utf-8")
    return path


def test_a_create_whose_answer_was_lost_is_found_by_id_number_not_made_twice(
        fake: FakeTotara, engine: Engine, export: Path) -> None:
    fake.lose["perform_goal_create_goal"] = True  # the goal exists, the answer is gone
    applied = sync_for(engine, export).apply()
    assert applied.result.ok, applied.result.failed
    assert applied.result.outcomes[0].detail.startswith("found by its id_number hr:G-1")
    assert fake.calls.count("perform_goal_create_goal") == 1 and len(fake.goals) == 1
    fake.calls.clear()
    again = sync_for(engine, export).apply()
    assert again.plan.is_empty and again.result.outcomes == []
    assert "perform_goal_create_goal" not in fake.calls and "perform_goal_update_goal" not in (
        fake.calls)


def test_a_create_lost_before_the_write_is_sent_once_more_after_the_look_up(
        fake: FakeTotara, engine: Engine, export: Path) -> None:
    fake.lose["perform_goal_create_goal"] = False
    applied = sync_for(engine, export).apply()
    assert applied.result.ok, applied.result.failed
    assert fake.calls[-3:] == ["perform_goal_create_goal", "perform_goal_user_goals",
                               "perform_goal_create_goal"]
    assert len(fake.goals) == 1 and fake.goals[0]["target_date"] == "2027-06-30"
    with store.session_scope(store.session_factory(engine)) as session:
        [row] = store.objects_by_external_id(session, SITE, "totara_goal").values()
    assert row.lms_id == fake.goals[0]["id"]


def test_unknown_people_are_named_with_file_and_line(fake: FakeTotara, engine: Engine,
                                                     export: Path) -> None:
    fake.users = []
    with pytest.raises(Exception, match=r"goals.csv:2: goal G-1: no Totara user with email"):
        sync_for(engine, export).plan()
    assert "perform_goal_create_goal" not in fake.calls
