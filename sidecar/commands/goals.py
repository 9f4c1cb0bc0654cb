"""``sidecar goals plan|apply|report``: performance goals from HR into the LMS (Moodle
learning plans, or Totara perform goals; the wiring picks one from ``lms.kind``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

import store
from connector.errors import LmsError
from sidecar.commands.plans import calls, progress, show_plan
from sidecar.context import NOT_READY, OK, CliContext, pass_context
from sidecar.goals_wiring import build_goal_sync
from sidecar.wiring import open_store
from sync.errors import SyncError
from sync.goals import GoalSync
from sync.plan import Plan

files_argument = click.argument("files", nargs=-1, type=click.Path(path_type=Path))
force_option = click.option(
    "--force", is_flag=True,
    help="Overwrite goals changed by hand in the LMS (drift) with what the export says, and "
         "create again goals deleted there.")


@contextmanager
def _job(ctx: CliContext, files: tuple[Path, ...], force: bool) -> Iterator[GoalSync]:
    """The goals job, with export, LMS and store errors turned into a message and exit 1."""
    settings = ctx.settings()
    try:
        yield build_goal_sync(settings, open_store(settings), files, force=force)
    except (SyncError, LmsError, store.StoreError) as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc


@click.group("goals")
def goals_group() -> None:
    """Performance goals from HR (CSV or JSON exports) into the LMS, progress reported back.

    Moodle: a learning plan per goal holding its competencies, the manager given a role to see
    it. Totara (18+): a perform goal of the employee, found again by its id_number.
    """


@goals_group.command("plan")
@files_argument
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON on stdout.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan, for `sidecar goals apply FILE`.")
@force_option
@pass_context
def plan_command(ctx: CliContext, files: tuple[Path, ...], as_json: bool, out: Path | None,
                 force: bool) -> None:
    """Show what `goals apply` would change: on Moodle, plans to create or update (before and
    after), competencies to add or remove, plans to complete, reopen or delete, manager roles;
    on Totara, perform goals to create, update or delete; on both, what was changed by hand
    in the LMS (drift).

    FILES are goal exports (default: goals.files in the config). Every problem of an export
    (bad dates, duplicate goal ids, unknown employees, managers or competencies) is listed
    with its line before anything is sent.

    Exit codes: 0 nothing to do; 2 changes pending; 1 error (the message says what).
    """
    with _job(ctx, files, force) as job:
        the_plan = job.plan()
    show_plan(ctx, the_plan, job, as_json=as_json, out=out, render=job.target.render,
              apply_command="sidecar goals apply")


@goals_group.command("apply")
@click.argument("plan_file", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--file", "files", multiple=True, type=click.Path(path_type=Path),
              help="A goal export (repeatable; default: goals.files in the config).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
@force_option
@pass_context
def apply_command(ctx: CliContext, plan_file: Path | None, files: tuple[Path, ...],
                  as_json: bool, force: bool) -> None:
    """Make the LMS carry the goals of the export, or carry out a plan saved with
    `goals plan --out FILE` (refused if the LMS or the export changed since). Safe to run
    again: nothing is written twice; an interrupted run is picked up where it stopped.

    Exit codes: 0 done; 1 a step or the run failed (the message says what).
    """
    try:
        saved = Plan.from_json(plan_file.read_text(encoding="utf-8")) if plan_file else None
    except ValueError as exc:
        ctx.err.print(f"[bold red]Error:[/] {plan_file}: {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc
    with _job(ctx, tuple(files), force) as job, \
            progress(ctx, as_json, lambda op: op.framework) as advance:
        applied = job.apply(saved, progress=advance)
    result = applied.result
    if as_json:
        click.echo(json.dumps({
            "run_id": result.run_id, "ok": result.ok, "seconds": round(result.seconds, 3),
            "api_calls": job.stats.calls, "changes": len(applied.plan.changes),
            "steps": [{"op": o.op.op_id, "status": o.status, "detail": o.detail,
                       "lms_id": o.lms_id} for o in result.outcomes]}, indent=2))
    else:
        for run_id in applied.resumed:
            ctx.out.print(f"Run {run_id} had been interrupted; it is closed and its work "
                          "picked up.", highlight=False)
        if applied.plan.is_empty:
            ctx.out.print(f"No changes: {job.lms} matches the goal export.", style="green")
        for outcome in result.outcomes:
            if outcome.status != "done":
                ctx.out.print(f"[red]{outcome.status}[/] {outcome.op.op_id}: {outcome.detail}",
                              highlight=False)
        if applied.plan.changes:
            ctx.out.print(job.target.summary(applied.plan), highlight=False)
        ctx.out.print(f"Run {result.run_id}: {result.count('done')} done, "
                      f"{result.count('failed')} failed in {result.seconds:.1f} s; "
                      f"{calls(job)}.", highlight=False)
    raise click.exceptions.Exit(OK if result.ok else NOT_READY)



@goals_group.command("report")
@files_argument
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="CSV (one row per goal and competency) or JSON.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file instead of stdout.")
@pass_context
def report_command(ctx: CliContext, files: tuple[Path, ...], fmt: str,
                   out: Path | None) -> None:
    """Progress on each goal of the export, for HR to import. Moodle: each competency's rating
    and proficiency in the goal's plan, the courses linked to it and the employee's completion
    of them, and the follow-up practice done. Totara: the perform goal's status and the
    employee's progress (current/target value). The number of API calls goes to stderr.

    Exit codes: 0 written; 1 error (the message says what).
    """
    with _job(ctx, files, False) as job:
        report = job.report()
    text = report.to_csv() if fmt == "csv" else report.to_json()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    ctx.err.print(f"{len(report.goals)} goals in {job.lms}; {report.api_calls} API calls"
                  + (" (courses from the skills map's links in the store)"
                     if report.course_source == "store" else ""), highlight=False)
