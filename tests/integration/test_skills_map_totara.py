"""`sidecar map plan/apply` on a Totara site stop before anything is read or written, and say
why (no way to find a competency's Totara id by idnumber) and what the admin can do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.sandbox import SandboxServer, state_of
from connector.sandbox.totara.site import TotaraSite
from sidecar.cli import cli

pytestmark = pytest.mark.integration
SECRET = "skills-map-client-secret-0123456789"


@pytest.fixture(scope="module")
def totara():
    with SandboxServer(totara=TotaraSite(release="17", client_secret=SECRET)) as server:
        yield server


@pytest.mark.parametrize("command", [["map", "plan"], ["map", "apply"], ["map", "suggest"],
                                     ["map", "coverage"]])
def test_map_commands_on_totara_stop_with_the_reason_and_nothing_is_sent(
        totara, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]):
    totara.reset()
    for name in [n for n in __import__("os").environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", SECRET)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", totara.admin_token)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("COMM-200: [C-1]\n")
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"lms:\n  kind: totara\n  url: {totara.url}\n  client_id: lms-sidecar\n"
                      f"store:\n  url: sqlite:///{tmp_path / 'state.sqlite'}\n"
                      f"skills_map:\n  mapping_file: {mapping}\n")
    db = state_of(totara.app).db
    before = db.scalar("SELECT COUNT(*) FROM comp_criteria_course")
    result = CliRunner().invoke(cli, ["--config", str(config), *command])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "lms.kind is totara" in message and "totara_competency_set_linked_courses" in message
    assert "idnumber" in message and "features.skills_map off" in message
    assert "nothing was read or sent" in message
    assert db.scalar("SELECT COUNT(*) FROM comp_criteria_course") == before
    assert not (tmp_path / "state.sqlite").exists()  # stopped before even the store
