"""``sidecar demo --totara 19``: the same product against the sandbox playing a Totara site.

The config differs only in ``lms.kind: totara``, the API client and where HR Import reads its
files; every command is the one a Moodle admin runs.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from rich.console import Console
from rich.rule import Rule

from connector.sandbox import SandboxServer
from connector.sandbox.totara.site import TotaraSite

GOALS = Path(__file__).resolve().parents[2] / "examples" / "goals" / "northwind-goals.csv"


def _has_perform_goals(site: SandboxServer) -> bool:
    totara: TotaraSite = site.app.extensions["sandbox.totara"]
    return "perform_goal_create_goal" in totara.operations


def totara_config(site: SandboxServer, workdir: Path, sources: Path, extra: str = "") -> Path:
    """The demo's config for a Totara site (secrets only in the environment); goals are on
    where the release has perform goals."""
    totara: TotaraSite = site.app.extensions["sandbox.totara"]
    goals = "true" if _has_perform_goals(site) else "false"
    folder = workdir / "hrimport"
    folder.mkdir()
    os.environ["SIDECAR_LMS__CLIENT_SECRET"] = totara.client_secret
    os.environ["SIDECAR_LMS__TOKEN"] = site.admin_token
    config = workdir / "sidecar.yaml"
    config.write_text(
        f"lms:\n  kind: totara\n  url: {site.url}\n  client_id: {totara.client_id}\n"
        f"  concurrency: 4\n"
        f"store:\n  url: sqlite:///sidecar.sqlite\n"
        f"sync:\n  sources: [{sources.resolve()}]\n  on_missing: leave\n"
        f"totara:\n  hr_import_dir: {folder.resolve()}\n"
        f"goals:\n  files: [{GOALS.resolve()}]\n"
        f"skills_map:\n  mapping_file: skills-map.yaml\n"
        f"features:\n  skills_map: true\n  goals: {goals}\n  followups: true\n{extra}",
        encoding="utf-8")
    return config


def totara_steps(run: object, console: Console, site: SandboxServer, workdir: Path,
                 sources: Path) -> None:
    """Check; frameworks as an HR Import file, planned against the last export; course links
    once Totara imported it; HR goals as perform goals (Totara 18+)."""
    from sidecar.commands.demo import _Demo

    assert isinstance(run, _Demo)
    logging.getLogger("connector.sandbox").setLevel(logging.WARNING)
    run.run("Is the Totara site ready? (token, API, which operations it offers)", ["check"])
    run.run("What the next HR Import file would change", ["plan"], expected=(2,))
    run.run("Write the HR Import competency file (atomically)", ["apply"])
    _show_file(console, workdir / "hrimport" / "competency.csv")
    run.run("Run it again: nothing new to export", ["plan"], expected=(0,))
    _course_links(run, console, site, workdir, sources)
    if not _has_perform_goals(site):
        console.print("(Totara 17 has no perform goals: `sidecar goals` says so and exits 1.)",
                      style="dim")
        run.run("Goals on Totara 17: refused plainly", ["goals", "plan"], expected=(1,))
        return
    run.run("HR's goals become perform goals of each employee (keyed by id_number)",
            ["goals", "apply"])
    run.run("Run it again: nothing to do", ["goals", "plan"], expected=(0,))
    run.run("Progress on the goals, for HR (CSV)",
            ["goals", "report", "--out", str(workdir / "goals-report.csv")])


#: The demo's mapping file: a few courses of the seeded catalogue and what they build.
MAPPING = """framework: WORK-SKILLS
outcome: evidence
links:
  - course: COMM-101
    outcome: complete
    competencies: [WS-COMM-FEEDBACK]
  - course: SAFE-101
    competencies: [WS-SAFE-HAZARD, WS-SAFE-FIRE]
"""


def _course_links(run: Any, console: Console, site: SandboxServer, workdir: Path,
                  sources: Path) -> None:
    """Totara's admin creates the frameworks and its cron imports the file; then the
    mapping file's links are written with the legacy web service."""
    from sync.sources import read_sources

    run.heading("In Totara: the frameworks exist, and HR Import's cron reads the file")
    admin = {"Authorization": f"Bearer {site.admin_token}",
             "Content-Type": "application/json"}
    imported: dict[str, Any] = {}
    for framework in read_sources((sources,)):
        _post(f"{site.url}/_sandbox/totara/comp-frameworks",
              {"idnumber": framework.idnumber, "fullname": framework.shortname}, admin)
    imported = _post(f"{site.url}/_sandbox/totara/hr-import",
                     {"file": str(workdir / "hrimport" / "competency.csv")}, admin)
    console.print(f"(Totara's admin creates the frameworks; HR Import's cron imports the "
                  f"file: {json.dumps(imported)})", style="dim", highlight=False)
    run.record("Totara imports the competency file", "HR Import (Totara's cron)",
               bool(imported))
    (workdir / "skills-map.yaml").write_text(MAPPING, encoding="utf-8")
    run.run("Which courses build which competencies: the plan", ["map", "plan"], expected=(2,))
    run.run("Link the courses (totara_competency_set_linked_courses)", ["map", "apply"])
    run.run("Run it again: nothing to do", ["map", "plan"], expected=(0,))
    run.run("Coverage: competencies no course builds, courses that build none",
            ["map", "coverage", "--framework", "WORK-SKILLS", "--svg",
             str(workdir / "coverage.svg")])


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    request = Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310
                      headers=headers)
    with urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox on loopback
        answer: dict[str, Any] = json.loads(response.read() or b"{}")
    return answer


def _show_file(console: Console, path: Path) -> None:
    console.print(Rule(f"[dim]{path.name}, as Totara's HR Import will read it"))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    shown = io.StringIO()
    csv.writer(shown, lineterminator="\n").writerows(row[:7] for row in rows[:4])
    for line in shown.getvalue().splitlines():
        console.print("  " + line, style="dim", highlight=False)
    console.print(f"  … {len(rows) - 1} competencies in all", style="dim", highlight=False)
