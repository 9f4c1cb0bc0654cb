"""``sidecar plan``, ``apply``, ``pull`` and ``status``: the competency framework sync."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.table import Table

import store
from connector.errors import LmsError
from connector.moodle.client import MoodleClient
from sidecar.commands.frameworks_totara import totara_apply, totara_plan
from sidecar.commands.plans import calls, progress, show_plan
from sidecar.context import NOT_READY, OK, CliContext, pass_context
from sidecar.wiring import build_client, build_framework_sync, open_store
from sync.actual import read_frameworks, scale_names, to_framework
from sync.apply import ApplyResult
from sync.errors import SyncError
from sync.job import FrameworkSync
from sync.plan import Plan
from sync.render import render, summary
from sync.sources import FORMATS, write_source

sources_argument = click.argument(
    "sources", nargs=-1, type=click.Path(exists=False, path_type=Path))
on_missing_option = click.option(
    "--on-missing", type=click.Choice(["leave", "hide", "delete"]),
    help="What to do with competencies gone from the source (default: sync.on_missing).")


@contextmanager
def _job(ctx: CliContext, sources: tuple[Path, ...],
         on_missing: str | None) -> Iterator[FrameworkSync]:
    """The sync job, with LMS and sync errors turned into a plain message and exit code 1."""
    settings = ctx.settings()
    client = build_client(settings.lms)
    try:
        engine = open_store(settings)
        yield build_framework_sync(settings, client, engine, sources, on_missing)
    except (SyncError, LmsError, store.StoreError) as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc




@click.command()
@sources_argument
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON on stdout.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan, for `sidecar apply FILE`.")
@on_missing_option
@pass_context
def plan(ctx: CliContext, sources: tuple[Path, ...], as_json: bool, out: Path | None,
         on_missing: str | None) -> None:
    """Show what `apply` would change in the LMS: frameworks and competencies to create,
    fields to update (before and after), moves, order, and what is no longer in the source.

    SOURCES are framework files or folders (default: sync.sources in the config).

    For a Totara site (lms.kind: totara) the plan compares the sources with the last HR
    Import file lms-sidecar wrote.

    Exit codes: 0 nothing to do; 2 changes pending; 1 error (the message says what).
    """
    if ctx.settings().lms.kind == "totara":
        totara_plan(ctx, sources, as_json, on_missing)
    with _job(ctx, sources, on_missing) as job:
        the_plan, _ = job.plan()
    show_plan(ctx, the_plan, job.client, as_json=as_json, out=out, render=render,
              apply_command="sidecar apply")


@click.command()
@click.argument("plan_file", required=False, type=click.Path(exists=True, dir_okay=False,
                                                             path_type=Path))
@click.option("--source", "sources", multiple=True, type=click.Path(path_type=Path),
              help="A framework file or folder (repeatable; default: sync.sources).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
@on_missing_option
@pass_context
def apply(ctx: CliContext, plan_file: Path | None, sources: tuple[Path, ...], as_json: bool,
          on_missing: str | None) -> None:
    """Make the LMS match the sources, or carry out a plan saved with `plan --out FILE`
    (refused if Moodle changed since). Safe to run again: nothing is written twice, and a run
    that was interrupted is picked up where it stopped.

    For a Totara site (lms.kind: totara) it writes one HR Import competency file into
    totara.hr_import_dir (atomically) and reports what it wrote.

    Exit codes: 0 done; 1 a step or the run failed (the message says what).
    """
    if ctx.settings().lms.kind == "totara":
        totara_apply(ctx, plan_file, tuple(sources), as_json, on_missing)
    saved = Plan.from_json(plan_file.read_text(encoding="utf-8")) if plan_file else None
    with _job(ctx, tuple(sources), on_missing) as job, progress(ctx, as_json) as advance:
        applied = job.apply(saved, progress=advance)
    result = applied.result
    if as_json:
        click.echo(json.dumps(_result_json(applied.plan, result, job.client), indent=2))
    else:
        for run_id in applied.resumed:
            ctx.out.print(f"Run {run_id} had been interrupted; it is closed and its work "
                          "picked up (nothing was created twice).", highlight=False)
        if applied.plan.is_empty:
            ctx.out.print("No changes: Moodle matches the source.", style="green")
        _print_result(ctx, applied.plan, result, job.client)
    raise click.exceptions.Exit(OK if result.ok else NOT_READY)




def _print_result(ctx: CliContext, the_plan: Plan, result: ApplyResult,
                  client: MoodleClient) -> None:
    for outcome in result.outcomes:
        if outcome.status != "done":
            style = "red" if outcome.status == "failed" else "yellow"
            ctx.out.print(f"[{style}]{outcome.status}[/] {outcome.op.op_id}: {outcome.detail}",
                          highlight=False)
    if the_plan.changes:
        ctx.out.print(summary(the_plan), highlight=False)
    ctx.out.print(
        f"Run {result.run_id}: {result.count('done')} done, {result.count('skipped')} skipped, "
        f"{result.count('failed')} failed in {result.seconds:.1f} s; {calls(client)}.",
        highlight=False)


def _result_json(the_plan: Plan, result: ApplyResult, client: MoodleClient) -> dict[str, object]:
    return {
        "run_id": result.run_id, "ok": result.ok, "seconds": round(result.seconds, 3),
        "api_calls": client.stats.calls,
        "steps": [{"op": o.op.op_id, "status": o.status, "detail": o.detail,
                   "lms_id": o.lms_id} for o in result.outcomes],
        "changes": len(the_plan.changes),
    }


@click.command()
@click.argument("idnumber")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="yaml",
              show_default=True, help="The file format to write.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write.")
@pass_context
def pull(ctx: CliContext, idnumber: str, fmt: str, out: Path) -> None:
    """Write the framework IDNUMBER as it is in the LMS to a file (YAML, Moodle CSV or CASE),
    to start a source of truth from what the site already has.

    Exit codes: 0 written; 1 no such framework, or an error.
    """
    settings = ctx.settings()
    client = build_client(settings.lms)
    try:
        actual = read_frameworks(client, [idnumber])[idnumber]
        names = scale_names(client, actual) if actual else {}
        made = build_framework_sync(settings, client, open_store(settings)).relations_made(
            idnumber)
    except (LmsError, store.StoreError) as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc
    if actual is None:
        ctx.err.print(f"No framework with idnumber {idnumber!r} in {settings.lms.url}.",
                      highlight=False)
        raise click.exceptions.Exit(NOT_READY)
    write_source(to_framework(actual, names, made), out, fmt)
    ctx.out.print(f"Wrote {idnumber} ({len(actual.competencies)} competencies) to {out}; "
                  f"{calls(client)}.", highlight=False)


@click.command()
@click.option("--limit", default=10, show_default=True, help="How many runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON on stdout.")
@pass_context
def status(ctx: CliContext, limit: int, as_json: bool) -> None:
    """Show the last sync runs: when, how triggered, outcome, steps, API calls, errors."""
    settings = ctx.settings()
    engine = open_store(settings)
    with store.session_scope(store.session_factory(engine)) as session:
        runs = [{
            "id": r.id, "kind": r.kind, "trigger": r.trigger, "status": r.status,
            "started_at": r.started_at.isoformat(timespec="seconds"),
            "seconds": (r.finished_at - r.started_at).total_seconds() if r.finished_at else None,
            "summary": r.summary or {}, "api_calls": r.api_calls, "error": r.error,
        } for r in store.recent_runs(session, limit)]
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return
    if not runs:
        ctx.out.print("No runs yet.")
        return
    table = Table(title="Recent runs (steps: done/skipped/failed)", title_justify="left")
    for column in ("run", "kind", "trigger", "started (UTC)", "took", "status", "steps",
                   "calls"):
        table.add_column(column, no_wrap=True)
    for r in runs:
        s: dict[str, Any] = r["summary"]  # type: ignore[assignment]
        steps = f"{s.get('done', 0)}/{s.get('skipped', 0)}/{s.get('failed', 0)}"
        took = f"{r['seconds']:.1f} s" if r["seconds"] is not None else "—"
        style = {"succeeded": "green", "failed": "red"}.get(str(r["status"]), "yellow")
        table.add_row(str(r["id"]), str(r["kind"]), str(r["trigger"]),
                      str(r["started_at"])[:16].replace("T", " "), took,
                      f"[{style}]{r['status']}[/]", steps, str(r["api_calls"]))
    ctx.out.print(table)
    for r in runs:
        if r["error"]:
            ctx.out.print(f"run {r['id']}: {r['error']}", style="red", highlight=False)
