"""The framework sync end to end against the sandbox: plan, apply, re-plan, pull, resume."""

import dataclasses
from collections import Counter

import pytest
from click.testing import CliRunner

import store
from connector.moodle import endpoints as ep
from connector.sandbox import FaultConfig, faults_of
from sidecar.cli import cli
from sync.actual import read_frameworks, scale_names, to_framework
from sync.errors import StalePlanError, SyncBusyError
from sync.job import FrameworkSync
from sync.plan import Plan
from sync.planner import PlanOptions
from sync.sources import read_source, write_source
from tests.conftest import REPO, SAMPLES

pytestmark = pytest.mark.integration

OECD = SAMPLES / "oecd-core-competencies.moodle.csv"
LEADERSHIP = REPO / "examples/frameworks/leadership-feedback.yaml"


@pytest.fixture
def job(client, engine, sandbox):
    def make(*sources, on_missing="leave"):
        return FrameworkSync(client=client, engine=engine, site=sandbox.url,
                             sources=tuple(sources), options=PlanOptions(on_missing=on_missing))
    return make


def idnumbers_in_moodle(client, framework):
    [fw] = [f for f in client.list_frameworks() if f.idnumber == framework]
    return Counter(c.idnumber for c in client.list_competencies(competencyframeworkid=fw.id))


def test_oecd_imports_applies_and_replans_to_zero(job, client):
    sync = job(OECD)
    first, _ = sync.plan()
    assert len(first.changes) == 65 + 39  # the framework, 64 competencies, 39 cross references
    applied = sync.apply()
    assert applied.result.ok and applied.result.count("done") == 65 + 39
    again, _ = sync.plan()
    assert again.is_empty, [op.op_id for op in again.changes]
    assert set(idnumbers_in_moodle(client, "OECD-CORE").values()) == {1}


@pytest.mark.parametrize("fmt", ["yaml", "moodle-csv"])
def test_pulled_framework_replans_to_zero(job, client, tmp_path, fmt):
    job(OECD, LEADERSHIP).apply()
    for idnumber in ("OECD-CORE", "LEAD-FB"):
        pulled = tmp_path / f"{idnumber}.{fmt}"
        actual = read_frameworks(client, [idnumber])[idnumber]
        made = job().relations_made(idnumber)
        write_source(to_framework(actual, scale_names(client, actual), made), pulled, fmt)
        plan, _ = job(pulled).plan()
        assert plan.is_empty, (idnumber, [op.op_id for op in plan.changes])


def test_pulled_tree_equals_the_source(job, client):
    job(LEADERSHIP).apply()
    actual = read_frameworks(client, ["LEAD-FB"])["LEAD-FB"]
    pulled = to_framework(actual, scale_names(client, actual), job().relations_made("LEAD-FB"))
    source = read_source(LEADERSHIP)[0]
    assert pulled.related_pairs() == source.related_pairs() != frozenset()
    strip = lambda fw: dataclasses.replace(fw, competencies=tuple(  # noqa: E731
        dataclasses.replace(c, related=()) for c in fw.competencies))
    assert strip(pulled) == strip(source)  # a pair is listed on either of its two ends


def test_a_no_op_resync_costs_one_list_call_per_framework(job, client):
    job(OECD).apply()
    before = client.stats.calls
    plan, _ = job(OECD).plan()
    assert plan.is_empty and client.stats.calls - before == 2  # frameworks list + one tree


def test_an_edit_in_moodle_is_planned_with_before_and_after_and_put_back(job, client):
    job(LEADERSHIP).apply()
    [row] = client.list_competencies(idnumber="LF-COACH")
    client.update_competency(ep.CompetencyFields(id=row.id, shortname="Tells people answers"))
    client.set_parent_competency(row.id, 0)
    plan, _ = job(LEADERSHIP).plan()
    kinds = {op.kind: op for op in plan.changes}
    assert kinds["update_competency"].changes[0].before == "Tells people answers"
    assert (kinds["move_competency"].before, kinds["move_competency"].after) == (
        None, "LF-GROWTH")
    assert job(LEADERSHIP).apply().result.ok
    assert job(LEADERSHIP).plan()[0].is_empty


def test_a_saved_plan_is_applied_exactly_and_refused_once_moodle_changed(job, client):
    plan, _ = job(LEADERSHIP).plan()
    saved = Plan.from_json(plan.to_json())
    assert job(LEADERSHIP).apply(saved).result.count("done") == len(plan.changes)
    with pytest.raises(StalePlanError, match="Moodle changed since the plan was made"):
        job(LEADERSHIP).apply(saved)


def test_an_interrupted_apply_resumes_without_creating_anything_twice(job, client, sandbox,
                                                                      engine):
    sync = job(OECD)
    # The 20th call fails with a 500 (never retried): the run stops part-way.
    faults_of(sandbox.app).configure(FaultConfig(script=["ok"] * 19 + ["500"]))
    first = sync.apply()
    assert not first.result.ok
    created = sum(idnumbers_in_moodle(client, "OECD-CORE").values())
    assert 0 < created < 64
    second = sync.apply()
    assert second.result.ok
    assert second.result.count("done") == 64 - created + 39
    assert set(idnumbers_in_moodle(client, "OECD-CORE").values()) == {1}
    assert sync.plan()[0].is_empty
    with store.session_scope(store.session_factory(engine)) as session:
        statuses = [r.status for r in store.recent_runs(session, kind="frameworks")]
    assert statuses == ["succeeded", "failed"]


def test_a_killed_apply_is_closed_and_picked_up(job, engine, sandbox):
    with store.session_scope(store.session_factory(engine)) as session:
        store.start_run(session, kind="frameworks", site=sandbox.url)  # never finished
    applied = job(LEADERSHIP).apply()
    assert applied.resumed and applied.result.ok


def test_a_create_whose_answer_was_lost_is_not_created_twice(job, client, sandbox, settings_for,
                                                             engine):
    from sidecar.wiring import build_client

    slow = build_client(settings_for(timeout={"connect": 1, "read": 0.3}).lms)
    faults_of(sandbox.app).configure(FaultConfig(
        script=["ok", "ok", "timeout"], timeout_seconds=0.5))  # the framework create times out
    sync = FrameworkSync(client=slow, engine=engine, site=sandbox.url, sources=(LEADERSHIP,))
    sync.apply()
    faults_of(sandbox.app).configure(FaultConfig())
    assert sync.apply().result.ok
    frameworks = [f.idnumber for f in client.list_frameworks()]
    assert frameworks.count("LEAD-FB") == 1
    assert set(idnumbers_in_moodle(client, "LEAD-FB").values()) == {1}


def test_delete_removes_what_left_the_source_but_never_what_is_in_use(job, client, tmp_path):
    job(LEADERSHIP).apply()
    linked = client.list_competencies(idnumber="LF-STRETCH")[0]
    client.transport.call("core_competency_add_competency_to_course",
                          {"courseid": 2, "competencyid": linked.id})
    source = read_source(LEADERSHIP)[0]
    trimmed = dataclasses.replace(source, competencies=tuple(
        c for c in source.competencies if c.idnumber not in ("LF-COACH", "LF-STRETCH")))
    path = tmp_path / "trimmed.yaml"
    write_source(trimmed, path, "yaml")
    result = job(path, on_missing="delete").apply().result
    outcomes = {o.op.idnumber: o.status for o in result.outcomes}
    assert outcomes == {"LF-COACH": "done", "LF-STRETCH": "skipped"}
    assert set(idnumbers_in_moodle(client, "LEAD-FB")) >= {"LF-STRETCH"}
    assert "LF-COACH" not in idnumbers_in_moodle(client, "LEAD-FB")


def test_only_one_apply_runs_at_a_time(job, engine, sandbox):
    with store.advisory_lock(engine, f"sync:frameworks:{sandbox.url}") as held:
        assert held
        with pytest.raises(SyncBusyError):
            job(LEADERSHIP).apply()


def test_cli_plan_exit_codes_follow_terraform(sandbox, tmp_path, monkeypatch):
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"lms:\n  url: {sandbox.url}\nsync:\n  sources: [{LEADERSHIP}]\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    runner = CliRunner()
    base = ["--config", str(config)]
    planned = runner.invoke(cli, [*base, "plan", "--out", str(tmp_path / "plan.json")])
    assert planned.exit_code == 2, planned.output
    assert "Plan: 16 to create" in planned.output
    applied = runner.invoke(cli, [*base, "apply", str(tmp_path / "plan.json")])
    assert applied.exit_code == 0, applied.output
    assert "20 done, 0 skipped, 0 failed" in applied.output  # 16 + 2 rules + 2 relations
    assert runner.invoke(cli, [*base, "plan"]).exit_code == 0
    stale = runner.invoke(cli, [*base, "apply", str(tmp_path / "plan.json")])
    assert stale.exit_code == 1 and "Moodle changed since" in stale.output
    status = runner.invoke(cli, [*base, "status", "--json"])
    assert status.exit_code == 0 and '"status": "succeeded"' in status.output


def test_cli_reports_bad_sources_with_file_and_line(sandbox, tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text("idnumber: X\nshortname: X\ncompetencies:\n  - idnumber: A\n"
                   "    shortname: A\n    parent: NOPE\n")
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"lms:\n  url: {sandbox.url}\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    result = CliRunner().invoke(cli, ["--config", str(config), "plan", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4" in result.output and "NOPE" in result.output
