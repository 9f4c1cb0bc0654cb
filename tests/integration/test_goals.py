"""Goals as learning plans against the sandbox: plan, apply, re-plan to zero, changes, done,
reopen, withdrawn, drift, manager roles seen with the manager's own token, report, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

import store
from connector import errors as e
from connector.moodle import endpoints as ep_params
from sidecar.cli import cli
from sidecar.wiring import build_client
from sync.goals import GoalOptions, GoalSync
from sync.goals.moodle import moodle_goal_sync
from sync.goals.ops import PlanDrift, ReopenPlan, SetManagerRoles, UpdatePlan
from sync.goals.report import goals_report
from sync.job import FrameworkSync

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ROOT / "examples" / "frameworks"
EXAMPLE = ROOT / "examples" / "goals" / "northwind-goals.csv"
HEADER = ["goal_id", "employee", "title", "description", "start_date", "due_date", "status",
          "manager", "competencies"]
MIA = "mia.hall@northwind.example"
WILLIAM = "william.walker@northwind.example"  # a seeded line manager
JACK = "jack.novak@northwind.example"


class _Grade(ep_params.Params):
    planid: int
    competencyid: int
    grade: int


def row(goal_id: str = "G-1", employee: str = MIA, title: str = "Run the weekly meeting",
        status: str = "active", manager: str = WILLIAM,
        competencies: str = "WS-COMM-MEETINGS;WS-COMM-LISTEN", due: str = "2027-06-30",
        description: str = "Agenda, time, decisions.") -> list[str]:
    return [goal_id, employee, title, description, "2026-01-01", due, status, manager,
            competencies]


def write(path: Path, *rows: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def synced(client, engine, sandbox):
    """The sandbox with the example frameworks in it (goals need their competencies)."""
    assert FrameworkSync(client, engine, sandbox.url, (FRAMEWORKS,)).apply().result.ok
    return sandbox


def job(client, engine, site, files, **options) -> GoalSync:
    return moodle_goal_sync(client, engine, site, files,
                            options=GoalOptions(manager_role=9, **options))


def user_id(client, email: str) -> int:
    return client.users_by_field("email", [email])[0].id


def test_example_export_applies_and_replans_to_zero(client, engine, synced):
    sync = job(client, engine, synced.url, [EXAMPLE])
    plan = sync.plan()
    assert plan.count()["create_plan"] == 7  # the withdrawn goal gets no plan
    applied = sync.apply()
    assert applied.result.ok, applied.result.failed
    again = sync.plan()
    assert again.is_empty, [op.op_id for op in again.changes]
    oscar = client.user_plans(user_id(client, "oscar.costa@northwind.example"))
    [done] = [p for p in oscar if p.name == "Complete the safety refresher"]
    assert done.status == 2 and done.duedate == 0  # done; its past due date left empty


def test_goal_changes_update_the_plan_and_done_completes_it(client, engine, synced, tmp_path):
    export = write(tmp_path / "goals.csv", row())
    sync = job(client, engine, synced.url, [export])
    assert sync.apply().result.ok
    [plan] = [p for p in client.user_plans(user_id(client, MIA))
              if p.name == "Run the weekly meeting"]
    write(export, row(title="Run the team meeting", competencies="WS-COMM-MEETINGS;LF-DELEGATE",
                      due="2027-09-30"))
    changed = sync.plan()
    kinds = [op.kind for op in changed.changes]
    assert kinds == ["update_plan", "add_plan_competency", "remove_plan_competency"]
    update = next(op for op in changed.changes if isinstance(op, UpdatePlan))
    assert {c.field for c in update.changes} == {"name", "duedate"}
    assert sync.apply().result.ok
    assert client.read_plan(plan.id).name == "Run the team meeting"
    assert {i.competency.idnumber for i in client.plan_competencies(plan.id)} == {
        "WS-COMM-MEETINGS", "LF-DELEGATE"}
    write(export, row(title="Run the team meeting", competencies="WS-COMM-MEETINGS;LF-DELEGATE",
                      due="2027-09-30", status="done"))
    assert [op.kind for op in sync.plan().changes] == ["complete_plan"]
    assert sync.apply().result.ok
    assert client.read_plan(plan.id).status == 2
    assert sync.plan().is_empty


def test_a_completed_plan_is_reopened_to_edit_and_completed_again(client, engine, synced,
                                                                   tmp_path):
    export = write(tmp_path / "goals.csv", row(status="done"))
    sync = job(client, engine, synced.url, [export])
    assert sync.apply().result.ok
    write(export, row(status="done", title="Run the weekly meeting well"))
    plan = sync.plan()
    assert [op.kind for op in plan.changes] == ["reopen_plan", "update_plan", "complete_plan"]
    assert sync.apply().result.ok
    write(export, row(status="active", title="Run the weekly meeting well"))
    plan = sync.plan()
    assert [type(op) for op in plan.changes] == [ReopenPlan]
    assert sync.apply().result.ok and sync.plan().is_empty


def test_hand_edits_are_drift_and_only_force_overwrites(client, engine, synced, tmp_path):
    from connector.moodle import endpoints as ep

    export = write(tmp_path / "goals.csv", row())
    sync = job(client, engine, synced.url, [export])
    assert sync.apply().result.ok
    [plan] = client.user_plans(user_id(client, MIA))[:1]
    client.update_plan(ep.PlanFields(id=plan.id, name="Renamed by the learner"))
    assert sync.plan().is_empty  # the export did not change: the hand edit stays
    write(export, row(description="New wording from HR"))
    drifted = sync.plan()
    assert drifted.is_empty and any(isinstance(op, PlanDrift) for op in drifted.ops)
    forced = job(client, engine, synced.url, [export], force=True)
    assert [op.kind for op in forced.plan().changes] == ["update_plan"]
    assert forced.apply().result.ok
    assert client.read_plan(plan.id).name == "Run the weekly meeting"
    assert sync.plan().is_empty


def test_withdrawn_goal_deletes_its_plan_when_configured(client, engine, synced, tmp_path):
    export = write(tmp_path / "goals.csv", row())
    assert job(client, engine, synced.url, [export]).apply().result.ok
    write(export, row(status="withdrawn"))
    leave = job(client, engine, synced.url, [export])
    assert leave.plan().is_empty
    delete = job(client, engine, synced.url, [export], on_withdrawn="delete")
    plan = delete.plan()
    assert [op.kind for op in plan.changes] == ["delete_plan", "manager_roles"]
    assert delete.apply().result.ok
    assert client.user_plans(user_id(client, MIA)) == []
    assert delete.plan().is_empty


def manager_client(sandbox, settings_for, manager: int):
    answer = requests.post(f"{sandbox.url}/_sandbox/tokens", json={"userid": manager},
                           headers={"Authorization": f"Bearer {sandbox.admin_token}"},
                           timeout=10)
    answer.raise_for_status()
    return build_client(settings_for(token=answer.json()["token"]).lms)


def test_manager_role_is_assigned_once_and_moves_with_the_manager(client, engine, synced,
                                                                  tmp_path, settings_for):
    learner = user_id(client, "oscar.costa@northwind.example")  # Sean's report, not Jack's
    export = write(tmp_path / "goals.csv", row(employee="oscar.costa@northwind.example",
                                               manager=JACK))
    sync = job(client, engine, synced.url, [export])
    jack = manager_client(synced, settings_for, user_id(client, JACK))
    with pytest.raises(e.PermissionDeniedError):
        jack.user_plans(learner)
    plan = sync.plan()
    [roles] = [op for op in plan.ops if isinstance(op, SetManagerRoles)]
    assert roles.assign and len(roles.pairs) == 1
    assert sync.apply().result.ok
    assert [p.name for p in jack.user_plans(learner)] == ["Run the weekly meeting"]
    assert sync.plan().is_empty  # assigned once
    write(export, row(employee="oscar.costa@northwind.example", manager=WILLIAM))
    moved = sync.plan()
    assert [(op.assign, len(op.pairs)) for op in moved.changes] == [(True, 1), (False, 1)]
    assert sync.apply().result.ok
    with pytest.raises(e.PermissionDeniedError):
        jack.user_plans(learner)
    william = manager_client(synced, settings_for, user_id(client, WILLIAM))
    [seen] = william.user_plans(learner)
    assert len(william.plan_competencies(seen.id)) == 2


def test_report_brings_ratings_courses_and_completion_back(client, engine, synced, tmp_path):
    export = write(tmp_path / "goals.csv", row(competencies="WS-COMM-MEETINGS;WS-COMM-LISTEN"))
    sync = job(client, engine, synced.url, [export])
    assert sync.apply().result.ok
    mia = user_id(client, MIA)
    [plan] = client.user_plans(mia)
    meetings, _ = (i.competency for i in client.plan_competencies(plan.id))
    with synced.state.transaction() as db:
        course = db.one("SELECT e.courseid AS id FROM user_enrolments e JOIN "
                        "course_completion_criteria c ON c.course = e.courseid "
                        "WHERE e.userid = ? ORDER BY e.courseid", (mia,))["id"]
    client.add_competency_to_course(course, meetings.id)
    client.call(ep_params.Endpoint[object]("core_competency_grade_competency_in_plan", _Grade,
                                    object), _Grade(planid=plan.id, competencyid=meetings.id,
                                                    grade=2))
    report = goals_report(sync)
    [goal] = report.goals
    rated, unrated = goal.competencies
    assert (rated.rating, rated.proficient) == ("Competent", True)
    assert (unrated.rating, unrated.proficient) == ("", None)  # Moodle says "No": not rated
    assert [c.course_id for c in rated.courses] == [course]
    assert rated.courses[0].completion in {"completed", "not completed"}
    assert unrated.courses == ()
    assert report.api_calls >= 5
    lines = report.to_csv().splitlines()
    assert lines[0].startswith("goal_id,employee,title") and lines[1].startswith("G-1,")
    assert json.loads(report.to_json())["goals"][0]["competencies"][0]["practice_done"] == 0
    write(export, row(competencies="WS-COMM-MEETINGS;WS-COMM-LISTEN", status="done"))
    assert sync.apply().result.ok
    [goal] = goals_report(sync).goals
    assert goal.plan_status == "complete"
    assert goal.competencies[0].proficient is True  # archived in usercompetencyplan


def test_unknown_people_and_competencies_fail_with_their_line(client, engine, synced,
                                                              tmp_path):
    export = write(tmp_path / "goals.csv", row(),
                   row(goal_id="G-2", employee="nobody@northwind.example"),
                   row(goal_id="G-3", competencies="NO-SUCH-SKILL"))
    with pytest.raises(Exception, match=r"goals.csv:3: goal G-2: no Moodle user") as info:
        job(client, engine, synced.url, [export]).plan()
    assert "goals.csv:4: goal G-3: no competency with idnumber 'NO-SUCH-SKILL'" in str(
        info.value)
    assert client.user_plans(user_id(client, MIA)) == []


def test_a_lost_create_answer_never_makes_a_second_plan(client, engine, synced, tmp_path,
                                                       settings_for):
    import time

    from connector.sandbox import FaultConfig, faults_of

    export = write(tmp_path / "goals.csv", row())
    slow = build_client(settings_for(timeout={"connect": 1, "read": 0.3}).lms)
    sync = moodle_goal_sync(slow, engine, synced.url, (export,),
                            options=GoalOptions(manager_role=9))
    faults_of(synced.app).configure(FaultConfig(script=["timeout"], timeout_seconds=0.5,
                                                functions=["core_competency_create_plan"]))
    first = sync.apply()  # the create lands after the client gave up on it
    assert [o.op.kind for o in first.result.failed] == ["create_plan"]
    assert "not created again" in first.result.failed[0].detail
    faults_of(synced.app).configure(FaultConfig())
    time.sleep(0.5)
    again = sync.plan()
    assert [op.kind for op in again.changes][:1] == ["adopt_plan"]
    assert sync.apply().result.ok
    [plan] = client.user_plans(user_id(client, MIA))
    assert len(client.plan_competencies(plan.id)) == 2
    assert sync.plan().is_empty


def test_cli_exit_codes(settings_for, synced, tmp_path, monkeypatch, client, engine):
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"lms:\n  url: {synced.url}\nstore:\n  url: sqlite:///state.sqlite\n"
                      f"sync:\n  sources: [{FRAMEWORKS}]\n"
                      f"goals:\n  files: [{EXAMPLE}]\n  manager_role: 9\n", encoding="utf-8")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", synced.admin_token)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--config", str(config), *args])
        return result.exit_code, result.stdout + result.stderr * (result.exit_code == 1)

    assert run("apply")[0] == 0
    code, out = run("goals", "plan", "--json")
    assert code == 2 and json.loads(out)["ops"]
    saved = tmp_path / "plan.json"
    assert run("goals", "plan", "--out", str(saved))[0] == 2
    assert run("goals", "apply", str(saved))[0] == 0
    assert run("goals", "plan")[0] == 0
    code, out = run("goals", "report", "--format", "json")
    assert code == 0 and len(json.loads(out)["goals"]) == 7
    bad = write(tmp_path / "bad.csv", row(status="closed"))
    code, out = run("goals", "plan", str(bad))
    assert code == 1 and "bad.csv:2" in out and "status 'closed'" in out
    engine_for = store.create_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with store.session_scope(store.session_factory(engine_for)) as session:
        kinds = {run.kind for run in store.recent_runs(session, 10)}
    engine_for.dispose()
    assert "goals" in kinds
