"""`sidecar demo --totara`: the same product against the sandbox playing Totara, end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from sidecar.cli import cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("release", ["17", "19"])
def test_the_totara_demo_runs_every_step_as_expected(release: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # the demo puts the sandbox's secrets in the environment; restore it afterwards
    for name in ("SIDECAR_LMS__TOKEN", "SIDECAR_LMS__CLIENT_SECRET"):
        monkeypatch.setenv(name, "")
    # a relative --dir, as the default .demo is: the config's paths must still resolve
    monkeypatch.chdir(tmp_path)
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--totara", release, "--dir", "demo"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "NO" not in result.output.split("Demo summary")[-1]
    with (workdir / "hrimport" / "competency.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["frameworkidnumber"] for r in rows} == {"LEAD-FB", "WORK-SKILLS"}
    assert any(r["idnumber"] == "LF-FEEDBACK-GIVE" and r["parentidnumber"] == "LF-FEEDBACK"
               for r in rows)
    assert "nothing new to export" in result.output
    # once Totara imported the file, the mapping file's links were written, then nothing more
    assert "COMM-101/WS-COMM-FEEDBACK: linked, mandatory yes" in result.output
    assert "the LMS has exactly the links of the mapping file" in result.output
    if release == "17":
        assert "has no perform goals" in result.output
        # the practice task went as a coach message; the learner answered on the page
        assert "The learner answers 'done'" in result.output
    else:
        with (workdir / "goals-report.csv").open(encoding="utf-8") as handle:
            report = list(csv.DictReader(handle))
        assert {r["goal_id"] for r in report} >= {"NW-2026-001", "NW-2026-004"}
        assert all(r["progress"] for r in report)
        # the practice task became a goal task; the learner's tick reached the schedule
        assert "1 marked done" in result.output
        assert "Thank you" not in result.output
