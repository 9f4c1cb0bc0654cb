"""``sidecar completions``: the completion inbox and reconciliation, by hand.

Exit codes: ``poll`` 0 the run succeeded (whether or not it found anything), 1 it failed (the
LMS, the report, the plans file or the store; the message says which). ``inbox`` 0.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from rich.table import Table

import store
from sidecar.completion_wiring import poll_completions
from sidecar.context import CliContext, pass_context
from sidecar.wiring import open_store
from store.models import InboxEvent, InboxStatus
from webhooks.inbox import recent_events


@click.group()
def completions() -> None:
    """Course completions in: the inbox (webhooks and polling) and reconciliation."""


@completions.command()
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def poll(ctx: CliContext, as_json: bool) -> None:
    """Look for completions no webhook announced, once (what `sidecar serve` does every
    webhooks.reconcile_every_minutes), and print what was found and the API calls it took.

    The courses polled are those with follow-up plans (named by a plan, or linked to a
    competency a plan names); without a plans file, the courses the skills map linked.
    """
    settings = ctx.settings()
    outcome = poll_completions(settings, open_store(settings))
    summary = outcome.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_poll(ctx, summary)
    if outcome.status == "failed":
        if as_json:
            ctx.err.print(f"[bold red]Error:[/] {outcome.error}", highlight=False)
        raise click.exceptions.Exit(1)


def _print_poll(ctx: CliContext, summary: dict[str, Any]) -> None:
    courses = summary["courses"]
    ctx.out.print(f"Courses polled ({summary['basis']}): "
                  f"{', '.join(map(str, courses)) or 'none'}", highlight=False)
    for note in summary["notes"]:
        ctx.out.print(f"  note: {note}", highlight=False)
    if summary["error"]:
        ctx.err.print(f"[bold red]Error:[/] {summary['error']}", highlight=False)
    else:
        ctx.out.print(f"Found {len(summary['new'])} new completion(s) by {summary['path']}, "
                      f"{summary['known']} already in the inbox, {summary['too_old']} older "
                      "than the window (kept as ignored).", highlight=False)
        for row in summary["new"]:
            ctx.out.print(f"  course {row['courseid']}, learner {row['userid']}, completed "
                          f"{row['completed_at']}", highlight=False)
    calls = ", ".join(f"{name} x{count}" for name, count in summary["calls"].items())
    ctx.out.print(f"API calls: {summary['api_calls']}" + (f" ({calls})" if calls else ""),
                  highlight=False)


def _row(event: InboxEvent) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": event.id, "source": event.source, "event_id": event.event_id,
            "event_type": event.event_type, "courseid": event.course_id,
            "userid": event.user_id, "completed_at": when(event.completed_at),
            "received_at": when(event.received_at), "status": event.status,
            "detail": event.detail}


@completions.command()
@click.option("--status", "statuses", multiple=True,
              type=click.Choice([s.value for s in InboxStatus]),
              help="Only rows in this status (repeat for several).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def inbox(ctx: CliContext, statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """The latest inbox rows, newest first: where each came from, the course, the learner,
    when they completed, and what became of it."""
    engine = open_store(ctx.settings())
    with store.session_scope(store.session_factory(engine)) as session:
        rows = [_row(e) for e in recent_events(session, limit, statuses)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Completion inbox", title_justify="left")
    for column in ("id", "source", "event id", "course", "user", "completed at", "status"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), r["source"], r["event_id"] or "-",
                      str(r["courseid"] or "-"), str(r["userid"] or "-"),
                      (r["completed_at"] or "-")[:19], r["status"])
    ctx.out.print(table)
    if not rows:
        ctx.err.print("The inbox has no rows" + (" in that status." if statuses else "."))
