"""`sidecar check` (and later plan/apply) with lms.kind: totara against the sandbox on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidecar.cli import cli
from tests.integration.conftest import totara_release as release
from tests.integration.conftest import totara_sandbox

pytestmark = pytest.mark.integration
SECRET = "cli-client-secret-0123456789abcdef"


totara, site = totara_sandbox(["17", "19"], SECRET)


@pytest.fixture
def config(site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a Totara config; keyword arguments add YAML lines under `totara:`."""
    for name in [n for n in __import__("os").environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", SECRET)

    def write(totara_lines: str = "", features: str = "", token: bool = False) -> Path:
        if token:
            monkeypatch.setenv("SIDECAR_LMS__TOKEN", site.admin_token)
        path = tmp_path / "sidecar.yaml"
        path.write_text(
            f"lms:\n  kind: totara\n  url: {site.url}\n  client_id: lms-sidecar\n"
            "  retries:\n    attempts: 2\n    backoff: 0\n"
            "store:\n  url: sqlite:///state.sqlite\n"
            + (f"totara:\n{totara_lines}" if totara_lines else "")
            + (f"features:\n{features}" if features else ""))
        return path

    return write


def check(path: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(path), "check", *args])


FRAMEWORKS_ONLY = "  skills_map: false\n  goals: false\n  followups: false\n"


def test_check_is_ready_for_frameworks_with_a_writable_hr_import_folder(site, config, tmp_path):
    (tmp_path / "hrimport").mkdir()
    result = check(config(f"  hr_import_dir: {tmp_path / 'hrimport'}\n", FRAMEWORKS_ONLY),
                   "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    offered = report["operations"]["offered"]
    assert offered["totara_webapi_status"] is True
    assert offered["perform_goal_create_goal_task"] is (release(site) == "19")
    assert offered["perform_goal_create_goal"] is (release(site) != "17")
    assert report["operations"]["how"].startswith("probed")
    assert SECRET not in result.output


def test_check_without_the_folder_or_with_unsupported_features_is_not_ready(site, config):
    result = check(config())
    assert result.exit_code == 1, result.output
    assert "totara.hr_import_dir is not set" in result.output
    assert "no working web-service token" in " ".join(result.output.split())
    assert "Totara API answers" in result.output
    assert SECRET not in result.output


def test_check_takes_the_release_from_the_config_without_probing(site, config):
    result = check(config("  release: '18'\n", FRAMEWORKS_ONLY), "--json")
    report = json.loads(result.stdout)
    assert report["operations"]["offered"]["perform_goal_create_goal"] is True
    assert report["operations"]["offered"]["perform_goal_create_goal_task"] is False
    assert "not probed" in report["operations"]["how"]


def test_check_reports_the_legacy_services_with_a_token(site, config):
    result = check(config(token=True), "--json")
    report = json.loads(result.stdout)
    assert report["legacy"].startswith("legacy web services answer")
    links = next(f for f in report["features"] if f["key"] == "skills_map")
    assert links["ready"] is True and "totara_competency_set_linked_courses" in links["detail"]


def test_goals_are_ready_where_the_site_offers_perform_goals(site, config, tmp_path):
    (tmp_path / "hrimport").mkdir()
    result = check(config(f"  hr_import_dir: {tmp_path / 'hrimport'}\n",
                          "  skills_map: false\n  followups: false\n"), "--json")
    goals = next(f for f in json.loads(result.stdout)["features"] if f["key"] == "goals")
    if release(site) == "17":
        assert result.exit_code == 1
        assert goals["ready"] is False and "perform_goal_create_goal" in goals["detail"]
        assert "no perform goals" in result.stdout
    else:
        assert result.exit_code == 0, result.output
        assert goals["ready"] is True and "hr:<goal id>" in goals["detail"]


def test_a_wrong_secret_exits_2_with_the_fix(site, config, monkeypatch):
    path = config()
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", "not-the-secret-at-all")
    result = check(path)
    assert result.exit_code == 2, result.output
    assert "lms.client_id" in result.output and "not-the-secret-at-all" not in result.output


def test_the_api_off_exits_2_and_says_so(site, config):
    site.app.extensions["sandbox.totara"].api_enabled = False
    try:
        result = check(config(), "--json")
    finally:
        site.app.extensions["sandbox.totara"].api_enabled = True
    assert result.exit_code == 2
    assert "Enable external API" in json.loads(result.stdout)["error"]


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "frameworks" / "workplace-skills.yaml"


def frameworks(path: Path, verb: str, *args: str):
    source = [str(EXAMPLE)] if verb == "plan" else ["--source", str(EXAMPLE)]
    return CliRunner().invoke(cli, ["--config", str(path), verb, *source, *args])


def test_plan_apply_write_one_hr_import_file_and_plan_against_it(site, config, tmp_path):
    folder = tmp_path / "hrimport"
    folder.mkdir()
    path = config(f"  hr_import_dir: {folder}\n")
    planned = frameworks(path, "plan")
    assert planned.exit_code == 2, planned.output
    assert "+ create WORK-SKILLS/WS-COMM “Communication”" in planned.output
    applied = frameworks(path, "apply", "--json")
    assert applied.exit_code == 0, applied.output
    outcome = json.loads(applied.stdout)
    assert outcome["file"] == str(folder / "competency.csv") and outcome["changes"]["create"]
    lines = (folder / "competency.csv").read_text().splitlines()
    assert lines[0] == ("idnumber,fullname,shortname,deleted,description,frameworkidnumber,"
                        "parentidnumber,typeidnumber,timemodified")
    assert len(lines) == outcome["rows"] + 1
    again = frameworks(path, "plan", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["empty"] is True


def test_apply_without_the_folder_says_what_to_set(site, config):
    result = frameworks(config(), "apply")
    assert result.exit_code == 1
    assert "totara.hr_import_dir" in result.output


def followups_feature(result) -> dict:
    return next(f for f in json.loads(result.stdout)["features"] if f["key"] == "followups")


def test_followups_name_their_channel_and_each_missing_setting(site, config, tmp_path,
                                                                monkeypatch):
    (tmp_path / "hrimport").mkdir()
    path = config(f"  hr_import_dir: {tmp_path / 'hrimport'}\n",
                  "  skills_map: false\n  goals: false\n")
    result = check(path, "--json")
    assert result.exit_code == 1
    feature = followups_feature(result)
    assert feature["ready"] is False
    expected = "goal tasks" if release(site) == "19" else "messages from the coach"
    assert expected in feature["detail"]
    fixes = " ".join(feature["fixes"])
    assert "SIDECAR_LMS__TOKEN" in fixes and "stop_when_proficient: false" in fixes
    assert "followups.link_secret" in fixes and "followups.public_url" in fixes

    monkeypatch.setenv("SIDECAR_FOLLOWUPS__LINK_SECRET", "a-long-random-link-secret-0123456789")
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__COACH__TOKEN", site.admin_token)
    path.write_text(path.read_text() + "followups:\n  stop_when_proficient: false\n"
                    "  public_url: https://sidecar.example.org\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", site.admin_token)
    result = check(path, "--json")
    assert followups_feature(result)["ready"] is True, followups_feature(result)
    assert result.exit_code == 0
    assert site.admin_token not in result.stdout
