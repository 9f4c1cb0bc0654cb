"""Completion reconciliation as `sidecar serve` runs it and as `sidecar completions` shows it,
against the sandbox: the courses that matter, one run at a time, failures recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

import store
from config import Settings
from sidecar.cli import cli
from sidecar.completion_wiring import (
    RECONCILE_JOB,
    RUN_KIND,
    courses_to_reconcile,
    inbox_panel,
    poll_completions,
    run_reconciliation,
)
from sidecar.wiring import build_client
from sync.job import FrameworkSync
from tests.conftest import REPO
from tests.integration.test_reconcile import complete_a_learner, inbox

pytestmark = pytest.mark.integration


def shortname_of(sandbox, course: int) -> str:
    with sandbox.state.transaction() as db:
        return str(db.scalar("SELECT shortname FROM course WHERE id = ?", (course,)))


def plans_file(tmp_path: Path, courses: list[str], competencies: list[str] = ()) -> Path:
    path = tmp_path / "plans.yaml"
    path.write_text("version: 1\nplans:\n  - id: practice\n    title: Practice\n"
                    f"    courses: {json.dumps(courses)}\n"
                    f"    competencies: {json.dumps(list(competencies))}\n"
                    "    tasks:\n      - \"Try it once, $learner_firstname.\"\n")
    return path


def settings(sandbox, plans: Path | None, **lms: object) -> Settings:
    values: dict[str, object] = {"url": sandbox.url, "token": sandbox.admin_token,
                                 "retries": {"attempts": 1, "backoff": 0.01}}
    values.update(lms)
    return Settings(lms=values, followups={"plans_file": plans})  # type: ignore[arg-type]


def recorded(engine: Engine) -> list[store.SyncRun]:
    with store.session_scope(store.session_factory(engine)) as session:
        return store.recent_runs(session, kind=RUN_KIND)


def test_the_scheduled_run_finds_a_missed_completion_of_a_planned_course(
        sandbox, engine, tmp_path) -> None:
    course, user, _ = complete_a_learner(sandbox)
    config = settings(sandbox, plans_file(tmp_path, [shortname_of(sandbox, course)]))

    assert run_reconciliation(config, engine) == "succeeded"

    [row] = [r for r in inbox(engine) if r.status == "new"]
    assert (row.source, row.course_id, row.user_id) == ("poll", course, user)
    [run] = recorded(engine)
    assert (run.trigger, run.status, run.error) == ("schedule", "succeeded", None)
    assert run.summary["courses"] == [course] and run.summary["new"] == 1
    assert run.api_calls == sum(run.summary["calls"].values()) > 0

    # Nothing new: the watermark moves, no run is recorded, the panel shows the last one.
    assert run_reconciliation(config, engine) == "succeeded"
    assert len(recorded(engine)) == 1
    with store.session_scope(store.session_factory(engine)) as session:
        rows = dict(inbox_panel(session, config))
    assert rows["new"] == 1 and rows["last reconciliation"].endswith("ago")
    assert any(label.startswith("last recorded run") and value.startswith("succeeded, 1 new")
               for label, value in rows.items())


def test_only_one_worker_runs_it_at_a_time(sandbox, engine, tmp_path) -> None:
    config = settings(sandbox, plans_file(tmp_path, ["COMM-101"]))
    with store.advisory_lock(engine, f"{RECONCILE_JOB}:{sandbox.url}") as held:
        assert held
        assert run_reconciliation(config, engine) == "busy"
    assert inbox(engine) == [] and recorded(engine) == []


def test_a_failed_run_is_logged_and_recorded_not_raised(sandbox, engine, tmp_path,
                                                        caplog) -> None:
    config = settings(sandbox, plans_file(tmp_path, ["COMM-101"]), url="http://127.0.0.1:9",
                      timeout={"connect": 0.2, "read": 0.2})

    assert run_reconciliation(config, engine) == "failed"

    [run] = recorded(engine)
    assert run.status == "failed" and run.error and "127.0.0.1:9" in run.error
    assert "completion reconciliation failed" in caplog.text
    assert sandbox.admin_token not in caplog.text and sandbox.admin_token not in run.error
    with store.session_scope(store.session_factory(engine)) as session:
        rows = dict(inbox_panel(session, config))
    assert rows["last reconciliation"] == "never"
    assert any(value.startswith("failed: ") for value in rows.values() if isinstance(value, str))


def test_courses_of_a_planned_competency_come_from_moodle(sandbox, engine, tmp_path,
                                                          client) -> None:
    assert FrameworkSync(client, engine, sandbox.url, (REPO / "examples" / "frameworks",)
                         ).apply().result.ok
    [feedback] = client.list_competencies(idnumber="WS-COMM-FEEDBACK")
    linked = [client.courses_by_field("shortname", name)[0].id for name in ("COMM-101",
                                                                            "LEAD-150")]
    for course in linked:
        client.add_competency_to_course(course, feedback.id)
    config = settings(sandbox, plans_file(tmp_path, [], ["WS-COMM-FEEDBACK", "NOT-SYNCED"]))

    chosen = courses_to_reconcile(config, engine, build_client(config.lms))

    assert (chosen.ids, chosen.basis) == (sorted(linked), "plans")
    assert chosen.api_calls == 1  # the plan names no course: no course list is read
    assert any("NOT-SYNCED" in note for note in chosen.notes)


def test_without_plans_the_skills_map_links_are_polled(sandbox, engine) -> None:
    with store.session_scope(store.session_factory(engine)) as session:
        store.remember_object(session, site=sandbox.url, kind="course_competency",
                              external_id="8/3", lms_id=11)
    config = settings(sandbox, None)
    chosen = courses_to_reconcile(config, engine, build_client(config.lms))
    assert (chosen.ids, chosen.basis, chosen.api_calls) == ([8], "skills map", 0)


def test_cli_poll_and_inbox(sandbox, tmp_path, monkeypatch) -> None:
    course, user, _ = complete_a_learner(sandbox)
    plans = plans_file(tmp_path, [shortname_of(sandbox, course)])
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"lms:\n  url: {sandbox.url}\nstore:\n  url: sqlite:///"
                      f"{tmp_path / 'state.sqlite'}\nfollowups:\n  plans_file: {plans}\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    runner = CliRunner()
    base = ["--config", str(config), "completions"]

    polled = runner.invoke(cli, [*base, "poll", "--json"])
    assert polled.exit_code == 0, polled.output
    found = json.loads(polled.stdout)
    assert [(n["courseid"], n["userid"]) for n in found["new"]] == [(course, user)]
    assert found["calls"]["core_enrol_get_enrolled_users"] == 1
    assert found["api_calls"] == sum(found["calls"].values())

    text = runner.invoke(cli, [*base, "poll"])
    assert text.exit_code == 0, text.output
    assert "Found 0 new completion(s) by status" in text.output
    assert "API calls:" in text.output and "core_enrol_get_enrolled_users x1" in text.output

    rows = json.loads(runner.invoke(cli, [*base, "inbox", "--status", "new", "--json"]).stdout)
    assert [(r["source"], r["courseid"], r["userid"], r["status"]) for r in rows] == [
        ("poll", course, user, "new")]
    # Completions from before the lookback window are kept, as ignored.
    older = json.loads(runner.invoke(cli, [*base, "inbox", "--json"]).stdout)
    assert {r["status"] for r in older} == {"new", "ignored"}
    none = runner.invoke(cli, [*base, "inbox", "--status", "failed", "--json"])
    assert none.exit_code == 0 and json.loads(none.stdout) == []
    table = runner.invoke(cli, [*base, "inbox", "--limit", "5"])
    assert table.exit_code == 0 and "poll" in table.output and str(user) in table.output


def test_cli_poll_fails_with_exit_1(sandbox, tmp_path, monkeypatch) -> None:
    config = tmp_path / "sidecar.yaml"
    config.write_text("lms:\n  url: http://127.0.0.1:9\n  retries:\n    attempts: 1\n"
                      f"store:\n  url: sqlite:///{tmp_path / 'state.sqlite'}\n"
                      f"followups:\n  plans_file: {plans_file(tmp_path, ['COMM-101'])}\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    result = CliRunner().invoke(cli, ["--config", str(config), "completions", "poll"])
    assert result.exit_code == 1 and "Error:" in result.output


def test_poll_by_hand_records_even_an_idle_run(sandbox, engine, tmp_path) -> None:
    config = settings(sandbox, plans_file(tmp_path, ["COMM-101"]))
    outcome = poll_completions(config, engine)
    assert outcome.status == "succeeded" and outcome.found is not None
    [run] = recorded(engine)
    assert (run.trigger, run.summary["new"]) == ("cli", 0)
