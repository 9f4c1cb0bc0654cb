"""``sidecar map review`` (a person decides on suggestions) and ``sidecar audit``."""

from __future__ import annotations

import csv
import getpass
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.panel import Panel
from rich.prompt import Prompt
from rich.table import Table
from sqlalchemy import Engine

import store
from sidecar.context import NOT_READY, OK, CliContext, pass_context
from sidecar.wiring import open_store, suggest_options
from skills_map.errors import SkillsMapError
from skills_map.mapping import OUTCOME_NAMES, Outcome, parse_outcome
from skills_map.quality import ThresholdAdvice
from skills_map.review import decide, pending, threshold_advice

CHOICES = {"a": "accept", "r": "reject", "s": "skip", "o": "accept with another outcome",
           "q": "quit"}


def _reviewer(ctx: CliContext, given: str | None) -> str:
    return given or ctx.settings().skills_map.reviewer or getpass.getuser()


def _accept_arg(value: str) -> tuple[int, Outcome | None]:
    number, _, outcome_text = value.partition("=")
    if not number.strip().isdigit():
        raise click.BadParameter(f"expected ID or ID=OUTCOME, got {value!r}")
    outcome = parse_outcome(outcome_text) if outcome_text else None
    if outcome_text and outcome is None:
        raise click.BadParameter(f"unknown outcome {outcome_text!r}; expected {OUTCOME_NAMES}")
    return int(number), outcome


@click.command("review")
@click.option("--mapping", type=click.Path(dir_okay=False), help="The mapping file (default: "
              "skills_map.mapping_file in the config).")
@click.option("--accept", "accepts", multiple=True, metavar="ID[=OUTCOME]",
              help="Accept a suggestion without prompting, optionally with a rule outcome "
              f"({OUTCOME_NAMES}); repeatable.")
@click.option("--reject", "rejects", multiple=True, type=int, metavar="ID",
              help="Reject a suggestion without prompting; repeatable.")
@click.option("--reviewer", help="Name written in the audit log (default: "
              "skills_map.reviewer, else your login name).")
@click.option("--tune", is_flag=True, help="Only report the threshold per framework that "
              "past decisions would pick.")
@pass_context
def review(ctx: CliContext, mapping: str | None, accepts: tuple[str, ...],
           rejects: tuple[int, ...], reviewer: str | None, tune: bool) -> None:
    """Decide on pending suggestions: accept (written into the mapping file), reject (never
    proposed again), skip, or accept with another rule outcome. Every decision goes into the
    audit log. Without --accept/--reject it asks for each suggestion in turn.

    Exit codes: 0 done; 1 error (unknown suggestion, no mapping file).
    """
    settings = ctx.settings()
    engine = open_store(settings)
    site = settings.lms.url
    if tune:
        _print_advice(ctx, threshold_advice(engine, site, suggest_options(settings)))
        return
    mapping_file = _mapping_path(ctx, mapping)
    actor = _reviewer(ctx, reviewer)
    try:
        if accepts or rejects:
            for value in accepts:
                number, outcome = _accept_arg(value)
                row = decide(engine, site, number, "accepted", actor=actor,
                             mapping_file=mapping_file, outcome=outcome)
                ctx.out.print(f"accepted {number}: {row.course} -> {row.competency}")
            for number in rejects:
                row = decide(engine, site, number, "rejected", actor=actor,
                             mapping_file=mapping_file)
                ctx.out.print(f"rejected {number}: {row.course} -> {row.competency}")
        else:
            _interactive(ctx, engine, site, actor, mapping_file)
    except SkillsMapError as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc
    raise click.exceptions.Exit(OK)


def _mapping_path(ctx: CliContext, mapping: str | None) -> Path | None:
    return Path(mapping) if mapping else ctx.settings().skills_map.mapping_file


def _interactive(ctx: CliContext, engine: Engine, site: str, actor: str,
                 mapping_file: Path | None) -> None:
    rows = pending(engine, site)
    if not rows:
        ctx.out.print("Nothing to review: run `sidecar map suggest` first.")
        return
    ctx.out.print(f"{len(rows)} suggestion(s) to review, as {actor}.")
    for index, row in enumerate(rows, 1):
        ctx.out.print(Panel(
            f"[bold]{row.course}[/] -> [bold]{row.framework}/{row.competency}[/] "
            f"({row.competency_name})\nscore {row.score:.2f} ({row.method}); matched: "
            f"{', '.join(row.evidence) or '-'}", title=f"{index}/{len(rows)}  id {row.id}"))
        answer = Prompt.ask(" / ".join(f"[{k}] {v}" for k, v in CHOICES.items()),
                            choices=list(CHOICES), default="s", console=ctx.out)
        if answer == "q":
            return
        if answer == "s":
            continue
        outcome = None
        if answer == "o":
            outcome = Outcome[Prompt.ask("Rule outcome", choices=[o.label for o in Outcome],
                                         default="evidence", console=ctx.out).upper()]
        decision = "rejected" if answer == "r" else "accepted"
        decide(engine, site, row.id, decision, actor=actor, mapping_file=mapping_file,
               outcome=outcome)
        ctx.out.print(f"{decision}.", style="green" if decision == "accepted" else "yellow")


def _print_advice(ctx: CliContext, advice: dict[str, ThresholdAdvice | None]) -> None:
    if not advice:
        ctx.out.print("No decisions yet: accept and reject some suggestions first.")
    for framework, item in advice.items():
        if item is None:
            ctx.out.print(f"{framework}: needs at least one accepted and one rejected "
                          "suggestion to pick a threshold.", highlight=False)
        else:
            ctx.out.print(f"{framework}: threshold {item.threshold:.2f} would keep "
                          f"{item.recall:.0%} of accepted with precision "
                          f"{item.precision:.0%} ({item.accepted} accepted, "
                          f"{item.rejected} rejected); set skills_map.thresholds.",
                          highlight=False)


_RELATIVE = re.compile(r"^(\d+)([dh])$")


def parse_since(value: str) -> datetime:
    """An ISO date or time (UTC unless it says), or a relative age such as 7d or 12h."""
    match = _RELATIVE.match(value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return datetime.now(UTC) - (timedelta(days=amount) if unit == "d"
                                    else timedelta(hours=amount))
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter(f"expected a date such as 2026-11-01, a time such as "
                                 f"2026-11-01T09:00, or an age such as 7d; got {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("audit")
@click.option("--since", help="Only entries from then on: 2026-11-01, 2026-11-01T09:00 or 7d.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="How to print the entries on stdout.")
@pass_context
def audit(ctx: CliContext, since: str | None, fmt: str) -> None:
    """Export the audit log: every decision on a suggestion (who, when, what, which
    suggestion, its score). The log is append-only in the store.

    Exit codes: 0 written; 1 error.
    """
    settings = ctx.settings()
    start = parse_since(since) if since else None
    engine = open_store(settings)
    with store.session_scope(store.session_factory(engine)) as session:
        rows = [{"id": e.id, "at": e.at.isoformat(timespec="seconds"), "actor": e.actor,
                 "action": e.action, "subject": e.subject, "suggestion": e.suggestion_id,
                 "score": e.score, "detail": e.detail}
                for e in store.audit_entries(session, since=start, site=settings.lms.url)]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "at", "actor", "action", "subject", "suggestion", "score",
                         "detail"])
        for r in rows:
            writer.writerow([*list(r.values())[:-1], json.dumps(r["detail"], ensure_ascii=False)])
        click.echo(out.getvalue(), nl=False)
    else:
        table = Table(title="Audit log", title_justify="left")
        for column in ("id", "at (UTC)", "actor", "action", "subject", "suggestion", "score"):
            table.add_column(column)
        for r in rows:
            table.add_row(str(r["id"]), str(r["at"])[:19], str(r["actor"]), str(r["action"]),
                          str(r["subject"]), str(r["suggestion"] or ""),
                          f"{r['score']:.2f}" if r["score"] is not None else "")
        ctx.out.print(table if rows else "No audit entries.")
