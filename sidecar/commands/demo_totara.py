"""``sidecar demo --totara 19``: the same product against the sandbox playing a Totara site.

The config differs only in ``lms.kind: totara``, the API client and where HR Import reads its
files; every command is the one a Moodle admin runs.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from connector.sandbox import SandboxServer
from connector.sandbox.totara.site import TotaraSite


def totara_config(site: SandboxServer, workdir: Path, sources: Path) -> Path:
    """The demo's config for a Totara site (secrets only in the environment)."""
    totara: TotaraSite = site.app.extensions["sandbox.totara"]
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
        f"totara:\n  hr_import_dir: {folder}\n"
        f"features:\n  skills_map: false\n  goals: false\n  followups: false\n",
        encoding="utf-8")
    return config


def totara_steps(run: object, console: Console, workdir: Path) -> None:
    """Check, then frameworks as an HR Import file, planned against the last export."""
    from sidecar.commands.demo import _Demo

    assert isinstance(run, _Demo)
    logging.getLogger("connector.sandbox").setLevel(logging.WARNING)
    run.run("Is the Totara site ready? (token, API, which operations it offers)", ["check"])
    run.run("What the next HR Import file would change", ["plan"], expected=(2,))
    run.run("Write the HR Import competency file (atomically)", ["apply"])
    _show_file(console, workdir / "hrimport" / "competency.csv")
    run.run("Run it again: nothing new to export", ["plan"], expected=(0,))


def _show_file(console: Console, path: Path) -> None:
    console.print(Rule(f"[dim]{path.name}, as Totara's HR Import will read it"))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    shown = io.StringIO()
    csv.writer(shown, lineterminator="\n").writerows(row[:7] for row in rows[:4])
    for line in shown.getvalue().splitlines():
        console.print("  " + line, style="dim", highlight=False)
    console.print(f"  … {len(rows) - 1} competencies in all", style="dim", highlight=False)
