"""`sidecar init --interactive` and `sidecar check --fix-hints` as an admin meets them, against
the sandbox site."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import load_settings
from connector.sandbox import control
from sidecar.cli import cli
from sidecar.guide import SECTIONS

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)


def _limited_token(sandbox, functions: list[str]) -> str:
    with sandbox.state.transaction() as db:
        control.create_service(db, "Limited", "limited", functions)
        return control.create_token(db, sandbox.state.clock.now(), user=2, service="limited")


def test_interactive_init_keeps_the_token_out_of_the_yaml_and_checks(sandbox, tmp_path):
    target = tmp_path / "sidecar.yaml"
    answers = f"{sandbox.url}/\n{sandbox.admin_token}\n\n"
    result = CliRunner().invoke(cli, ["init", str(target), "--interactive"], input=answers)
    token_file = tmp_path / "lms-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text().strip() == sandbox.admin_token
    assert sandbox.admin_token not in target.read_text()
    assert sandbox.admin_token not in result.output  # the prompt hides it
    assert "token_file: lms-token" in target.read_text()
    settings = load_settings(target)
    assert settings.lms.url == sandbox.url
    assert settings.lms.resolved_token.get_secret_value() == sandbox.admin_token
    assert "Site answers" in result.output
    # The seeded site has every function; what is left are the steps outside the service.
    assert "goals.manager_role" in result.output and SECTIONS["manager_role"] in result.output
    assert result.exit_code == 0, result.output


def test_interactive_init_asks_again_for_an_endpoint_address(sandbox, tmp_path):
    target = tmp_path / "sidecar.yaml"
    answers = (f"{sandbox.url}/webservice/rest/server.php\n{sandbox.url}\n"
               f"{sandbox.admin_token}\nsecrets/token\n")
    result = CliRunner().invoke(cli, ["init", str(target), "-i"], input=answers)
    assert "not the web-service endpoint" in result.output
    assert (tmp_path / "secrets" / "token").read_text().strip() == sandbox.admin_token
    assert f"token_file: {tmp_path / 'secrets' / 'token'}" in target.read_text()
    assert result.exit_code == 0, result.output


def test_interactive_init_with_a_refused_token_says_where_to_make_one(sandbox, tmp_path):
    target = tmp_path / "sidecar.yaml"
    result = CliRunner().invoke(cli, ["init", str(target), "-i"],
                                input=f"{sandbox.url}\nnot-a-token\n\n")
    assert result.exit_code == 2
    assert "refused the token" in result.output
    assert SECTIONS["token"] in result.output


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "sidecar.yaml"
    path.write_text(f"lms:\n  url: {url}\nstore:\n  url: sqlite:///state.sqlite\n")
    return path


def test_fix_hints_name_each_missing_step_with_its_section(sandbox, tmp_path, monkeypatch):
    token = _limited_token(sandbox, ["core_webservice_get_site_info",
                                     "core_competency_list_competency_frameworks"])
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", token)
    config = _config(tmp_path, sandbox.url)
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--fix-hints"])
    assert result.exit_code == 1
    assert "Admin steps still missing" in result.output
    assert "to the external service 'lms_sidecar'" in result.output
    assert "core_competency_create_competency" in result.output
    for key in ("external_service", "manager_role", "coach", "report"):
        assert SECTIONS[key] in result.output


def test_fix_hints_in_json_and_gone_once_done(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__COACH__TOKEN", sandbox.admin_token)
    monkeypatch.setenv("SIDECAR_GOALS__MANAGER_ROLE", "9")
    monkeypatch.setenv("SIDECAR_WEBHOOKS__REPORT__ID", "1")
    config = _config(tmp_path, sandbox.url)
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--fix-hints",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["hints"] == []
    plain = CliRunner().invoke(cli, ["--config", str(config), "check", "--fix-hints"])
    assert "No admin steps missing." in plain.output


def test_fix_hints_for_a_service_without_site_info(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", _limited_token(
        sandbox, ["core_competency_list_competency_frameworks"]))
    config = _config(tmp_path, sandbox.url)
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--fix-hints"])
    assert result.exit_code == 1
    assert SECTIONS["external_service"] in result.output
