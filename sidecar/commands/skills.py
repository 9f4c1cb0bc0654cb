"""``sidecar map ...`` (plan, apply, suggest, review, coverage) and ``sidecar audit``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.table import Table

import store
from connector.errors import LmsError
from sidecar.commands.skills_review import audit, review
from sidecar.context import CHANGES_PENDING, NOT_READY, OK, CliContext, pass_context
from sidecar.wiring import (
    MapJob,
    build_catalogue_source,
    build_map_job,
    open_store,
    suggest_options,
)
from skills_map import coverage as cov
from skills_map.errors import SkillsMapError
from skills_map.links import ForeignLink, LinkOp, SetLinkOutcome
from skills_map.linkset import UnresolvedLink
from skills_map.mapping import Outcome
from skills_map.review import suggest as run_suggest
from sync.apply import Applied
from sync.errors import SyncError
from sync.plan import Plan

mapping_option = click.option(
    "--mapping", "mapping", type=click.Path(dir_okay=False, path_type=Path),
    help="The mapping file (default: skills_map.mapping_file in the config).")


@contextmanager
def _plain_errors(ctx: CliContext) -> Iterator[None]:
    """The skills map's errors as a plain message and exit code 1."""
    try:
        yield
    except (SkillsMapError, LmsError, SyncError, store.StoreError) as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc


@contextmanager
def map_job(ctx: CliContext, mapping: Path | None) -> Iterator[MapJob]:
    """The plan/apply job for this site's LMS (Moodle or Totara)."""
    with _plain_errors(ctx):
        yield build_map_job(ctx.settings(), mapping)


@click.group("map")
def map_group() -> None:
    """Link courses to the competencies they build: plan and apply a mapping file, get
    suggestions, review them, and see coverage."""


def render_plan(the_plan: Plan) -> Table:
    table = Table(title=f"Skills map plan for {the_plan.site}", title_justify="left")
    for column in ("", "course", "competency", "framework", "outcome", "why"):
        table.add_column(column)
    marks = {"link_course_competency": "[green]+[/]", "set_link_outcome": "[yellow]~[/]",
             "unlink_course_competency": "[red]-[/]", "foreign_link": "[dim]=[/]",
             "unresolved_link": "[bold red]?[/]"}
    for op in the_plan.ops:
        if not isinstance(op, LinkOp):
            continue
        if isinstance(op, SetLinkOutcome):
            outcome = f"{Outcome(op.before).label} -> {Outcome(op.after).label}"
        else:
            outcome = Outcome(getattr(op, "outcome", 0)).label
        style = "dim" if isinstance(op, ForeignLink) else (
            "red" if isinstance(op, UnresolvedLink) else "")
        table.add_row(marks.get(op.kind, "?"), op.course, op.competency, op.framework,
                      outcome, op.reason, style=style)
    return table


def plan_summary(the_plan: Plan) -> str:
    counts = the_plan.count()
    parts = [f"{counts.get(k, 0)} {label}" for k, label in (
        ("link_course_competency", "to link"), ("set_link_outcome", "outcome(s) to change"),
        ("unlink_course_competency", "to unlink"),
        ("foreign_link", "made by others, left alone"))]
    unresolved = counts.get("unresolved_link", 0)
    if unresolved:
        parts.append(f"{unresolved} not found in the LMS by name (not linked; see why above)")
    return "Plan: " + ", ".join(parts) + "."


@map_group.command("plan")
@mapping_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON on stdout.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan, for `sidecar map apply FILE`.")
@pass_context
def map_plan(ctx: CliContext, mapping: Path | None, as_json: bool, out: Path | None) -> None:
    """Show the links `map apply` would add, the rule outcomes it would change and the links
    it made earlier that the file no longer has (only those are ever removed). The mapping
    file is checked first: every problem is listed with its line and nothing is sent.

    Exit codes: 0 nothing to do; 2 changes pending; 1 error (the message says what).
    """
    with map_job(ctx, mapping) as job:
        the_plan = job.plan()
    if out:
        out.write_text(the_plan.to_json(), encoding="utf-8")
    if as_json:
        click.echo(the_plan.to_json())
    else:
        if the_plan.ops:
            ctx.out.print(render_plan(the_plan))
        ctx.out.print(plan_summary(the_plan) if the_plan.changes or _unresolved(the_plan)
                      else "No changes: the LMS has exactly the links of the mapping file.",
                      highlight=False)
    raise click.exceptions.Exit(OK if the_plan.is_empty else CHANGES_PENDING)


def _unresolved(the_plan: Plan) -> bool:
    return any(isinstance(op, UnresolvedLink) for op in the_plan.ops)


@map_group.command("apply")
@click.argument("plan_file", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@mapping_option
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON on stdout.")
@pass_context
def map_apply(ctx: CliContext, plan_file: Path | None, mapping: Path | None,
              as_json: bool) -> None:
    """Link courses to competencies as the mapping file says, each link with its rule outcome
    in the same run; or carry out a plan saved with `map plan --out FILE` (refused if Moodle
    changed since). Running it again writes nothing.

    Exit codes: 0 done; 1 a step or the run failed, or a link's competency was not found
    in the LMS by its names (Totara; the message says why).
    """
    saved = Plan.from_json(plan_file.read_text(encoding="utf-8")) if plan_file else None
    with map_job(ctx, mapping) as job:
        applied = job.apply(saved)
    _print_applied(ctx, applied, as_json)
    unresolved = [op for op in applied.plan.ops if isinstance(op, UnresolvedLink)]
    for op in unresolved:
        ctx.err.print(f"[red]not linked[/] {op.idnumber}: {op.reason}", highlight=False)
    raise click.exceptions.Exit(OK if applied.result.ok and not unresolved else NOT_READY)


def _print_applied(ctx: CliContext, applied: Applied, as_json: bool) -> None:
    result = applied.result
    if as_json:
        click.echo(json.dumps({
            "run_id": result.run_id, "ok": result.ok, "api_calls": result.api_calls,
            "changes": len(applied.plan.changes),
            "steps": [{"op": o.op.op_id, "status": o.status, "detail": o.detail,
                       "lms_id": o.lms_id} for o in result.outcomes]}, indent=2))
        return
    if applied.plan.is_empty:
        ctx.out.print("No changes: the LMS has exactly the links of the mapping file.",
                      style="green")
    for outcome in result.outcomes:
        style = {"done": "green", "failed": "red"}.get(outcome.status, "yellow")
        ctx.out.print(f"[{style}]{outcome.status}[/] {outcome.op.kind} "
                      f"{outcome.op.idnumber}: {outcome.detail}", highlight=False)
    ctx.out.print(f"Run {result.run_id}: {result.count('done')} done, "
                  f"{result.count('failed')} failed in {result.seconds:.1f} s; "
                  f"{result.api_calls} API calls.", highlight=False)


@map_group.command("suggest")
@mapping_option
@click.option("--framework", "frameworks", multiple=True,
              help="Only competencies of this framework idnumber (repeatable; default all).")
@click.option("--top-k", type=click.IntRange(1, 50), help="Most per course and framework.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Lowest score proposed.")
@click.option("--json", "as_json", is_flag=True, help="Print the suggestions as JSON.")
@pass_context
def map_suggest(ctx: CliContext, mapping: Path | None, frameworks: tuple[str, ...],
                top_k: int | None, threshold: float | None, as_json: bool) -> None:
    """Propose links from every course's name, summary and tags to every competency's name
    and description, with a score and the words and tags that matched. Pairs already
    linked, already in the mapping file or rejected before are not proposed. Nothing is sent
    to the LMS: review them with `sidecar map review`. Without the tag functions in the
    token's service (see `sidecar check`), and always on Totara, suggestions use names and
    summaries and say so.

    Exit codes: 0 done (even with no suggestions); 1 error.
    """
    settings = ctx.settings()
    options = suggest_options(settings, top_k=top_k, threshold=threshold)
    site = settings.lms.url
    with _plain_errors(ctx):
        engine = open_store(settings)
        source = build_catalogue_source(settings, engine)
        result = run_suggest(source, engine, site, mapping or settings.skills_map.mapping_file,
                             options, frameworks)
        with store.session_scope(store.session_factory(engine)) as session:
            ids = {(r.course, r.framework, r.competency): r.id
                   for r in store.list_suggestions(session, site)}
    rows = [{"id": ids[s.key], "course": s.course, "framework": s.framework,
             "competency": s.competency, "name": s.competency_name, "score": s.score,
             "evidence": list(s.evidence)} for s in result.proposed]
    for note in result.notes:
        ctx.err.print(f"[yellow]![/] {note}; suggestions use names and summaries only",
                      highlight=False)
    if as_json:
        click.echo(json.dumps({"method": result.method, "suggestions": rows,
                               "auto_accepted": [list(s.key) for s in result.auto_accepted],
                               "notes": list(result.notes)}, indent=2))
        return
    table = Table(title=f"Suggestions ({result.method})", title_justify="left")
    for column in ("id", "course", "competency", "score", "evidence"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), str(r["course"]), f"{r['framework']}/{r['competency']}",
                      f"{r['score']:.2f}", ", ".join(r["evidence"]))  # type: ignore[arg-type]
    ctx.out.print(table)
    if result.auto_accepted:
        ctx.out.print(f"{len(result.auto_accepted)} accepted automatically (score >= "
                      f"{options.auto_accept_threshold}) and written to the mapping file.")
    ctx.out.print(f"{len(rows)} to review: sidecar map review", highlight=False)


@map_group.command("coverage")
@click.option("--framework", "frameworks", multiple=True,
              help="Only this framework idnumber (repeatable; default all).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="How to print the report on stdout.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the courses x competencies matrix as an SVG picture.")
@pass_context
def map_coverage(ctx: CliContext, frameworks: tuple[str, ...], fmt: str,
                 svg: Path | None) -> None:
    """Show which competencies no course builds and which courses build no competency,
    per framework and level, from the links the LMS holds now. On Totara, competencies are
    found by name from the last HR Import export; those not found are listed with the reason.

    Exit codes: 0 report written; 1 error.
    """
    settings = ctx.settings()
    with _plain_errors(ctx):
        source = build_catalogue_source(settings, open_store(settings))
        catalogue = source.catalogue(frameworks)
        report = cov.build_coverage(catalogue, source.links(catalogue))
    if svg:
        svg.write_text(cov.to_svg(report), encoding="utf-8")
        ctx.err.print(f"Wrote the coverage matrix to {svg}", highlight=False)
    if fmt == "json":
        click.echo(json.dumps(cov.to_json(report), indent=2))
    elif fmt == "csv":
        click.echo(cov.to_csv(report), nl=False)
    else:
        _print_coverage(ctx, report)


def _print_coverage(ctx: CliContext, report: cov.Coverage) -> None:
    table = Table(title="Coverage per framework and level", title_justify="left")
    for column in ("framework", "level", "competencies", "built by a course", "share"):
        table.add_column(column)
    for lv in report.levels():
        table.add_row(lv.framework, str(lv.level), str(lv.competencies), str(lv.covered),
                      f"{lv.share:.0%}")
    ctx.out.print(table)
    ctx.out.print(f"Competencies no course builds ({len(report.uncovered)}): " + ", ".join(
        f"{c.framework}/{c.idnumber}" for c in report.uncovered), highlight=False)
    ctx.out.print(f"Courses that build no competency ({len(report.unmapped)}): " + ", ".join(
        c.shortname for c in report.unmapped), highlight=False)
    if report.unresolved:
        ctx.out.print(f"Competencies not found in the LMS ({len(report.unresolved)}; whether "
                      "a course builds them is unknown):", highlight=False)
        for c in report.unresolved:
            ctx.out.print(f"  {c.framework}/{c.idnumber}: {c.unresolved}", highlight=False)


map_group.add_command(review)
__all__ = ["audit", "map_group"]
