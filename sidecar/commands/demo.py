"""``sidecar demo``: the whole product, end to end, against the embedded sandbox LMS."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from connector.moodle import endpoints as ep
from connector.sandbox import SandboxServer
from connector.sandbox.dump import dump_state, render_dump
from sidecar.commands.demo_followups import followups_demo
from sidecar.context import make_console
from sidecar.wiring import build_client

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "frameworks"
GOALS = Path(__file__).resolve().parents[2] / "examples" / "goals" / "northwind-goals.csv"


@dataclass
class _Step:
    title: str
    command: str
    code: int
    expected: Sequence[int]

    @property
    def ok(self) -> bool:
        return self.code in self.expected


@dataclass
class _Demo:
    console: Console
    config: Path
    steps: list[_Step] = field(default_factory=list)

    def run(self, title: str, args: list[str], expected: Sequence[int] = (0,)) -> int:
        from sidecar.cli import cli

        self.console.print(Rule(f"[bold]{len(self.steps) + 1}. {title}"))
        command = "sidecar " + " ".join(args)
        self.console.print(f"$ {command}", style="cyan", highlight=False)
        code = cli.main(args=["--config", str(self.config), *args], prog_name="sidecar",
                        standalone_mode=False) or 0
        self.steps.append(_Step(title, command, code, expected))
        return code

    def heading(self, title: str) -> None:
        """The numbered heading of the next step."""
        self.console.print(Rule(f"[bold]{len(self.steps) + 1}. {title}"))

    def record(self, title: str, command: str, ok: bool) -> None:
        """A step that is not a CLI command (an HTTP request), shown by its caller."""
        self.steps.append(_Step(title, command, 0 if ok else 1, (0,)))


@click.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path),
              default=Path(".demo"), show_default=True,
              help="Where the demo writes its config, store and pulled files (emptied first).")
@click.option("--sources", type=click.Path(exists=True, path_type=Path), default=EXAMPLES,
              show_default=True, help="Framework sources to sync.")
@click.option("--totara", "totara_release", type=click.Choice(["17", "18", "19"]),
              help="Play a Totara site of this release instead of Moodle (lms.kind: totara).")
def demo(workdir: Path, sources: Path, totara_release: str | None) -> None:
    """Start the sandbox LMS, run lms-sidecar against it end to end, show what happened.

    Exit codes: 0 every step behaved as expected; 1 a step did not.
    """
    console = make_console()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    if totara_release is not None:
        _totara_demo(console, workdir, sources, totara_release)
        return
    with SandboxServer() as site:
        console.print(f"Sandbox Moodle running at {site.url} (a seeded company: courses, "
                      "learners, managers, completions)", highlight=False)
        config = workdir / "sidecar.yaml"
        config.write_text(
            f"lms:\n  url: {site.url}\n  concurrency: 4\n"
            f"store:\n  url: sqlite:///sidecar.sqlite\n"
            f"sync:\n  sources: [{sources.resolve()}]\n  on_missing: leave\n"
            f"skills_map:\n  mapping_file: skills-map.yaml\n  method: tfidf\n"
            f"  reviewer: demo-admin\n"
            f"goals:\n  files: [{GOALS.resolve()}]\n  manager_role: 9\n",
            encoding="utf-8")
        os.environ["SIDECAR_LMS__TOKEN"] = site.admin_token
        run = _Demo(console, config)
        logging.getLogger("connector.sandbox").setLevel(logging.WARNING)
        run.run("Is the site ready?", ["check"])
        run.run("What would change?", ["plan"], expected=(2,))
        run.run("Make it so", ["apply"])
        run.run("Run it again: nothing to do", ["plan"], expected=(0,))
        _edit_in_moodle(console, config)
        run.run("Someone renamed a competency in Moodle: the plan shows it", ["plan"],
                expected=(2,))
        run.run("Put it back", ["apply"])
        pulled = workdir / "pulled-LEAD-FB.case.json"
        run.run("Pull a framework back out of the LMS as CASE JSON",
                ["pull", "LEAD-FB", "--format", "case", "--out", str(pulled)])
        run.run("The store remembers every run", ["status"])
        _skills_map(run, config, workdir)
        run.run("HR's goals become learning plans; each manager gets a role to see them",
                ["goals", "apply"])
        run.run("Progress on the goals, for HR (CSV)", ["goals", "report", "--out",
                                                       str(workdir / "goals-report.csv")])
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        followups_demo(console, site, config, run)
        console.print(Rule("[bold]What the sandbox LMS now holds"))
        with site.state.transaction() as db:
            render_dump(dump_state(db), console)
    _summary(console, run.steps)
    if not all(step.ok for step in run.steps):
        raise click.exceptions.Exit(1)


def _totara_demo(console: Console, workdir: Path, sources: Path, release: str) -> None:
    from connector.sandbox.totara.site import TotaraSite
    from sidecar.commands.demo_totara import totara_config, totara_steps
    from sidecar.commands.demo_totara_followups import (
        demo_service,
        followups_config,
        totara_followups_demo,
    )

    site = TotaraSite(release=release)
    goal_tasks = "perform_goal_create_goal_task" in site.operations
    with SandboxServer(totara=site) as server, demo_service(server, goal_tasks) as (late, url):
        console.print(f"Sandbox Totara {release} running at {server.url} (GraphQL API, OAuth2 "
                      "client credentials, legacy web services, the same seeded company)",
                      highlight=False)
        config = totara_config(server, workdir, sources, followups_config(url))
        run = _Demo(console, config)
        totara_steps(run, console, server, workdir, sources)
        totara_followups_demo(console, server, config, run, late, url, goal_tasks)
    _summary(console, run.steps)
    if not all(step.ok for step in run.steps):
        raise click.exceptions.Exit(1)


def _skills_map(run: _Demo, config: Path, workdir: Path) -> None:
    """Suggest links, accept the best per course and reject one, link them, show coverage."""
    run.run("Suggest which competencies each course builds (nothing is sent)",
            ["map", "suggest", "--top-k", "1"])
    accept, reject = _pick_suggestions(config)
    review = [arg for number in accept for arg in ("--accept", str(number))]
    run.run("A person accepts some suggestions and rejects one (audited)",
            ["map", "review", *review, "--reject", str(reject)])
    run.run("What the mapping file would change in Moodle", ["map", "plan"], expected=(2,))
    run.run("Link the courses", ["map", "apply"])
    run.run("Run it again: nothing to do", ["map", "plan"], expected=(0,))
    run.run("Coverage: competencies no course builds, courses that build none",
            ["map", "coverage", "--svg", str(workdir / "coverage.svg")])
    run.run("Every decision is in the audit log", ["audit", "--since", "1d"])


def _pick_suggestions(config: Path) -> tuple[list[int], int]:
    """The demo's reviewer: the best suggestion of the first courses, and one to reject."""
    import store
    from config import load_settings
    from skills_map.review import pending

    settings = load_settings(config)
    engine = store.create_engine(settings.store.url)
    try:
        rows = pending(engine, settings.lms.url)
    finally:
        engine.dispose()
    best = sorted(rows, key=lambda r: -r.score)
    return [r.id for r in best[:8]], best[-1].id


def _edit_in_moodle(console: Console, config: Path) -> None:
    """Rename one competency through the web service, as an admin would in Moodle's UI."""
    from config import load_settings

    client = build_client(load_settings(config).lms)
    [row] = client.list_competencies(idnumber="LF-DELEGATE")
    client.update_competency(ep.CompetencyFields(id=row.id, shortname="Hands out tasks"))
    console.print(f"(In Moodle, an admin renames {row.idnumber} to 'Hands out tasks'.)",
                  style="dim", highlight=False)


def _summary(console: Console, steps: list[_Step]) -> None:
    table = Table(title="Demo summary", title_justify="left")
    table.add_column("#")
    table.add_column("step")
    table.add_column("command")
    table.add_column("exit")
    table.add_column("as expected")
    for number, step in enumerate(steps, 1):
        table.add_row(str(number), step.title, step.command, str(step.code),
                      "[green]yes[/]" if step.ok else "[red]NO[/]")
    console.print(table)
