"""Goals as Totara perform goals against the sandbox playing Totara 17, 18 and 19: plan, apply,
re-plan to zero, changes, done, withdrawn, drift, a lost create answer, the report, the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import store
from config import Settings
from connector.sandbox import FaultConfig, faults_of
from sidecar.cli import cli
from sidecar.totara_wiring import build_totara_client
from sync.goals import GoalOptions, GoalSync
from sync.goals.ops import PlanDrift
from sync.goals.totara import totara_goal_sync
from tests.integration.conftest import totara_lms, totara_sandbox, totara_server
from tests.integration.test_goals import write

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "goals" / "northwind-goals.csv"
SECRET = "goals-client-secret-0123456789abcdef"
MIA = "mia.hall@northwind.example"


# goals_site: a Totara site with perform goals (18, 19), reset for each test
totara, goals_site = totara_sandbox(["18", "19"], SECRET, site="goals_site")


@pytest.fixture(scope="module")
def totara17():
    with totara_server("17", SECRET) as server:
        yield server


def settings(server, **lms) -> Settings:
    return Settings(lms=totara_lms(server, SECRET, **lms))  # type: ignore[arg-type]


def row(goal_id: str = "G-1", employee: str = MIA, title: str = "Run the weekly meeting",
        status: str = "active", due: str = "2027-06-30",
        description: str = "Agenda, time, decisions.") -> list[str]:
    return [goal_id, employee, title, description, "2026-01-01", due, status, "", ""]


def job(server, engine, files, *, lms: dict[str, object] | None = None,
        **options) -> GoalSync:
    client = build_totara_client(settings(server, **(lms or {})).lms)
    return totara_goal_sync(client, engine, server.url, files, options=GoalOptions(**options))


def goals_of(server, email: str) -> list[dict]:
    with server.state.transaction() as db:
        return db.all("SELECT g.* FROM perform_goal g JOIN user u ON u.id = g.userid "
                      "WHERE u.email = ? ORDER BY g.id", (email,))


def test_example_export_becomes_perform_goals_and_replans_to_zero(goals_site, engine):
    sync = job(goals_site, engine, [EXAMPLE])
    plan = sync.plan()
    assert plan.count()["create_goal"] == 7  # the withdrawn goal gets none
    applied = sync.apply()
    assert applied.result.ok, applied.result.failed
    [goal] = goals_of(goals_site, MIA)
    assert (goal["id_number"], goal["name"], goal["target_type"]) == (
        "hr:NW-2026-001", "Run the weekly team meeting", "date")
    assert (goal["start_date"], goal["target_date"], goal["status"]) == (
        "2026-01-15", "2027-06-30", "not_started")
    [done] = goals_of(goals_site, "oscar.costa@northwind.example")
    assert done["status"] == "completed"
    calls = sync.stats.calls
    again = sync.apply()
    assert again.plan.is_empty and again.result.outcomes == []
    assert sync.stats.calls - calls < 20  # users once, then one goals page per employee
    assert len(goals_of(goals_site, MIA)) == 1


def test_changes_update_the_goal_done_completes_it_and_active_reopens_it(goals_site, engine,
                                                                         tmp_path):
    export = write(tmp_path / "goals.csv", row())
    sync = job(goals_site, engine, [export])
    assert sync.apply().result.ok
    write(export, row(title="Run the team meeting", due="2027-09-30"))
    [update] = sync.plan().changes
    assert update.kind == "update_goal"
    assert {c.field: c.after for c in update.changes} == {"name": "Run the team meeting",
                                                          "target_date": "2027-09-30"}
    assert sync.apply().result.ok
    [goal] = goals_of(goals_site, MIA)
    assert (goal["name"], goal["target_date"]) == ("Run the team meeting", "2027-09-30")
    write(export, row(title="Run the team meeting", due="2027-09-30", status="done"))
    assert sync.apply().result.ok
    assert goals_of(goals_site, MIA)[0]["status"] == "completed"
    write(export, row(title="Run the team meeting", due="2027-09-30"))
    assert sync.apply().result.ok
    assert goals_of(goals_site, MIA)[0]["status"] == "in_progress"
    assert sync.plan().is_empty
    assert len(goals_of(goals_site, MIA)) == 1


def test_hand_edits_are_drift_and_only_force_overwrites(goals_site, engine, tmp_path):
    export = write(tmp_path / "goals.csv", row())
    sync = job(goals_site, engine, [export])
    assert sync.apply().result.ok
    with goals_site.state.transaction() as db:
        db.execute("UPDATE perform_goal SET name = 'Renamed by the learner'")
    write(export, row(description="New wording from HR"))
    drifted = sync.plan()
    assert drifted.is_empty and any(isinstance(op, PlanDrift) for op in drifted.ops)
    forced = job(goals_site, engine, [export], force=True)
    assert [op.kind for op in forced.plan().changes] == ["update_goal"]
    assert forced.apply().result.ok
    assert goals_of(goals_site, MIA)[0]["name"] == "Run the weekly meeting"
    assert sync.plan().is_empty


def test_withdrawn_and_gone_goals_follow_the_moodle_rules(goals_site, engine, tmp_path):
    export = write(tmp_path / "goals.csv", row(), row(goal_id="G-2", title="Second goal"))
    assert job(goals_site, engine, [export]).apply().result.ok
    write(export, row(status="withdrawn"))
    leave = job(goals_site, engine, [export]).plan()
    assert leave.is_empty
    notes = [op.reason for op in leave.ops]
    assert any("no longer in the export" in reason for reason in notes)  # G-2 left
    assert any("on_withdrawn: leave" in reason for reason in notes)
    delete = job(goals_site, engine, [export], on_withdrawn="delete")
    assert [op.kind for op in delete.plan().changes] == ["delete_goal"]
    assert delete.apply().result.ok
    assert [g["id_number"] for g in goals_of(goals_site, MIA)] == ["hr:G-2"]
    assert delete.plan().is_empty


def test_a_lost_create_answer_is_found_by_id_number_never_twice(goals_site, engine, tmp_path):
    export = write(tmp_path / "goals.csv", row())
    sync = job(goals_site, engine, [export],
               lms={"timeout": {"connect": 1, "read": 0.3}, "retries": {"attempts": 1}})
    faults_of(goals_site.app).configure(FaultConfig(script=["timeout"], timeout_seconds=0.5,
                                                    functions=["perform_goal_create_goal"]))
    applied = sync.apply()  # the create lands after the client gave up on it
    faults_of(goals_site.app).configure(FaultConfig())
    assert applied.result.ok, applied.result.failed
    [outcome] = applied.result.outcomes
    assert outcome.detail.startswith(("found by its id_number", "created after a lost answer"))
    time.sleep(0.5)
    assert len(goals_of(goals_site, MIA)) == 1
    assert sync.plan().is_empty


def test_a_goal_known_only_to_totara_is_adopted_not_duplicated(goals_site, engine, tmp_path):
    export = write(tmp_path / "goals.csv", row())
    assert job(goals_site, engine, [export]).apply().result.ok
    fresh = tmp_path / "other.sqlite"
    other = store.create_engine(f"sqlite:///{fresh}")
    store.migrate(other)
    try:
        again = job(goals_site, other, [export])
        assert [op.kind for op in again.plan().changes] == ["adopt_goal"]
        assert again.apply().result.ok and again.plan().is_empty
    finally:
        other.dispose()
    assert len(goals_of(goals_site, MIA)) == 1


def test_report_reads_status_and_progress_back(goals_site, engine, tmp_path):
    export = write(tmp_path / "goals.csv", row(), row(goal_id="G-2", title="Second goal"))
    sync = job(goals_site, engine, [export])
    assert sync.apply().result.ok
    with goals_site.state.transaction() as db:
        db.execute("UPDATE perform_goal SET current_value = 40, status = 'in_progress' "
                   "WHERE id_number = 'hr:G-1'")
    report = sync.report()
    first, second = report.goals
    assert (first.goal_id, first.plan_status, first.progress) == ("G-1", "in progress",
                                                                  "40/100")
    assert (second.plan_status, second.progress) == ("not started", "0/100")
    lines = report.to_csv().splitlines()
    assert lines[0].endswith(",progress") and lines[1].startswith("G-1,") and \
        lines[1].endswith(",40/100")


def test_unknown_employees_fail_with_their_line(goals_site, engine, tmp_path):
    export = write(tmp_path / "goals.csv", row(), row(goal_id="G-2",
                                                      employee="nobody@northwind.example"))
    with pytest.raises(Exception, match=r"goals.csv:3: goal G-2: no Totara user with email"):
        job(goals_site, engine, [export]).plan()
    assert goals_of(goals_site, MIA) == []


def config(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, export: Path) -> Path:
    for name in [n for n in __import__("os").environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", SECRET)
    path = tmp_path / "sidecar.yaml"
    path.write_text(f"lms:\n  kind: totara\n  url: {server.url}\n  client_id: lms-sidecar\n"
                    "  retries:\n    attempts: 2\n    backoff: 0\n"
                    f"store:\n  url: sqlite:///{tmp_path / 'state.sqlite'}\n"
                    f"goals:\n  files: [{export}]\n", encoding="utf-8")
    return path


def test_cli_plan_apply_report_exit_codes(goals_site, tmp_path, monkeypatch):
    path = config(goals_site, tmp_path, monkeypatch, EXAMPLE)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--config", str(path), "goals", *args])

    planned = run("plan")
    assert planned.exit_code == 2, planned.output
    assert "create goal “Run the weekly team meeting” hr:NW-2026-001" in planned.stdout
    assert "competencies are not carried" in planned.stdout
    saved = tmp_path / "plan.json"
    assert run("plan", "--json", "--out", str(saved)).exit_code == 2
    assert json.loads(saved.read_text())["ops"]
    applied = run("apply", str(saved), "--json")
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["ok"] is True
    assert run("plan").exit_code == 0
    again = run("apply")
    assert again.exit_code == 0 and "No changes: Totara matches the goal export." in again.stdout
    report = run("report", "--format", "json")
    assert report.exit_code == 0, report.output
    assert len(json.loads(report.stdout)["goals"]) == 7
    assert SECRET not in planned.output + applied.output + report.output


def test_totara_17_says_it_has_no_perform_goals(totara17, tmp_path, monkeypatch):
    path = config(totara17, tmp_path, monkeypatch, EXAMPLE)
    for verb in ("plan", "apply", "report"):
        result = CliRunner().invoke(cli, ["--config", str(path), "goals", verb])
        assert result.exit_code == 1, result.output
        assert "this Totara site has no perform goals" in result.output
        assert "features.goals" in result.output


def test_the_admin_goals_page_shows_totara_progress(goals_site, engine, monkeypatch):
    from sidecar.app import create_app
    from tests.integration.test_admin_feature_pages import PASSWORD, signed_in_client

    assert job(goals_site, engine, [EXAMPLE]).apply().result.ok
    with goals_site.state.transaction() as db:
        db.execute("UPDATE perform_goal SET current_value = 60 "
                   "WHERE id_number = 'hr:NW-2026-001'")
    values = {"url": goals_site.url, "kind": "totara", "client_id": "lms-sidecar",
              "client_secret": SECRET}
    settings = Settings(lms=values, goals={"files": [str(EXAMPLE)]},  # type: ignore[arg-type]
                        admin={"password": PASSWORD, "session_key": "k" * 40,
                               "secure_cookies": False})
    browser = signed_in_client(create_app(settings, engine))
    page = browser.get("/admin/goals")
    assert page.status_code == 200
    assert "Run the weekly team meeting" in page.text and "progress 60/100" in page.text
    download = browser.get("/admin/goals.csv")
    assert download.status_code == 200 and ",60/100" in download.text
    assert SECRET not in page.text + download.text


def test_every_page_of_an_employees_goals_is_read(goals_site, engine, tmp_path, monkeypatch):
    from connector.totara import operations as ops

    monkeypatch.setattr(type(ops.USER_GOALS), "page_size", property(lambda self: 2))
    export = write(tmp_path / "goals.csv", *(row(goal_id=f"G-{n}", title=f"Goal {n}")
                                             for n in range(1, 6)))
    sync = job(goals_site, engine, [export])
    assert sync.apply().result.ok
    calls = sync.stats.by_function()
    assert sync.plan().is_empty  # the fifth goal is on the third page, and is found there
    pages = {r.function: r.calls for r in sync.stats.by_function()}
    before = {r.function: r.calls for r in calls}
    assert pages["perform_goal_user_goals"] - before["perform_goal_user_goals"] == 3
    assert len(goals_of(goals_site, MIA)) == 5
