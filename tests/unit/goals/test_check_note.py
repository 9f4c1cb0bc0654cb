"""`sidecar check` says what it can and cannot verify about goals.manager_role."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from sidecar.cli import cli
from tests.unit.connector.conftest import BASE, TOKEN, add_recording


def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, goals: str) -> Path:
    for name in [n for n in __import__("os").environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", TOKEN)
    path = tmp_path / "sidecar.yaml"
    path.write_text(f"lms:\n  url: {BASE}\n  retries:\n    attempts: 2\n    backoff: 0\n"
                    f"store:\n  url: sqlite:///state.sqlite\n{goals}")
    return path


@responses.activate
def test_a_configured_role_is_left_to_the_first_apply(tmp_path, monkeypatch):
    add_recording(responses.mock, "01")
    path = config(tmp_path, monkeypatch, "goals:\n  manager_role: 9\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "check", "--json"])
    assert result.exit_code == 0, result.output
    [note] = [n for n in json.loads(result.stdout)["notes"] if "manager_role" in n]
    assert "cannot tell whether role 9 exists" in note and "goals apply" in note


@responses.activate
def test_no_role_says_managers_will_not_see_plans(tmp_path, monkeypatch):
    add_recording(responses.mock, "01")
    path = config(tmp_path, monkeypatch, "")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 0
    assert "goals.manager_role is not set" in result.stdout


def test_a_short_name_is_refused_with_where_to_find_the_id(tmp_path, monkeypatch):
    path = config(tmp_path, monkeypatch, "goals:\n  manager_role: linemanager\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 78
    assert "roleid=" in result.output and "linemanager" in result.output
