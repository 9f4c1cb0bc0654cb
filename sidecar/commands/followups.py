"""``sidecar followups``: the follow-up practice queue, by hand.

Exit codes: 0 done; 1 a failure (LMS, store, plans file, missing setting; for ``dispatch``
and ``progress`` also a task the LMS refused or could not be asked about); 3 no such
sequence, or it is not in a state that allows the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
from rich.table import Table

import store
from connector.errors import LmsError
from sidecar.context import CliContext, pass_context
from sidecar.followup_wiring import (
    dispatcher_for,
    has_course_competencies,
    lms_client,
    policy_for,
    progress_for,
    rules_for,
)
from sidecar.wiring import open_store
from store.models import FollowupSequence, SequenceState
from webhooks.clock import ManualClock, SystemClock
from webhooks.policy import FollowupError
from webhooks.queue import list_sequences, sequence_detail
from webhooks.schedule import opt_out, set_paused, stop_sequence

NOT_FOUND = 3


def _clock(at: datetime | None) -> SystemClock | ManualClock:
    if at is None:
        return SystemClock()
    return ManualClock(at if at.tzinfo else at.replace(tzinfo=UTC))


def _fail(ctx: CliContext, message: str, code: int = 1) -> None:
    ctx.err.print(f"[bold red]Error:[/] {message}", highlight=False)
    raise click.exceptions.Exit(code)


@click.group()
def followups() -> None:
    """Follow-up practice after course completions: the queue, sending, opt-outs, report."""


@followups.command("list")
@click.option("--state", "states", multiple=True,
              type=click.Choice([s.value for s in SequenceState]), help="Only these states.")
@click.option("--learner", type=int, help="Only this learner (LMS user id).")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def list_(ctx: CliContext, states: tuple[str, ...], learner: int | None, limit: int,
          as_json: bool) -> None:
    """List follow-up sequences, newest first."""
    engine = open_store(ctx.settings())
    with store.session_scope(store.session_factory(engine)) as session:
        rows = list_sequences(session, states=states, learner=learner, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Follow-up sequences", title_justify="left")
    for column in ("id", "learner", "course", "competency", "plan", "state", "sent", "answers"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), f"{r['learner']} ({r['learner_id']})", r["course"],
                      r["competency"] or "-", r["plan"], r["state"], str(r["tasks_sent"]),
                      str(r["answers"]))
    ctx.out.print(table)


@followups.command()
@click.argument("sequence_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def show(ctx: CliContext, sequence_id: int, as_json: bool) -> None:
    """Show one sequence with its tasks and answers."""
    engine = open_store(ctx.settings())
    with store.session_scope(store.session_factory(engine)) as session:
        data = sequence_detail(session, sequence_id)
    if data is None:
        _fail(ctx, f"no follow-up sequence {sequence_id}", NOT_FOUND)
        return
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    ctx.out.print(f"Sequence {data['id']}: {data['learner']} after {data['course']} "
                  f"(plan {data['plan']}, competency {data['competency'] or '-'}): "
                  f"{data['state']}" + (f" ({data['reason']})" if data["reason"] else ""),
                  highlight=False)
    table = Table(title_justify="left")
    for column in ("task", "repeat", "status", "due (UTC)", "sent", "answer", "text"):
        table.add_column(column)
    for t in data["tasks"]:
        table.add_row(str(t["task"]), str(t["repeat"]), str(t["status"]),
                      str(t["due_at"]).replace("T", " ")[:16],
                      str(t["sent_at"] or "-").replace("T", " ")[:16], str(t["answer"] or "-"),
                      str(t["text"])[:70])
    ctx.out.print(table)


def _change(ctx: CliContext, sequence_id: int, verb: str,
            action: Callable[[Any, FollowupSequence], bool]) -> None:
    engine = open_store(ctx.settings())
    with store.session_scope(store.session_factory(engine)) as session:
        sequence = session.get(FollowupSequence, sequence_id)
        if sequence is None:
            _fail(ctx, f"no follow-up sequence {sequence_id}", NOT_FOUND)
            return
        if not action(session, sequence):
            _fail(ctx, f"sequence {sequence_id} is {sequence.state}; it cannot be {verb}",
                  NOT_FOUND)
        ctx.out.print(f"Sequence {sequence_id} {verb}.")


@followups.command()
@click.argument("sequence_id", type=int)
@pass_context
def pause(ctx: CliContext, sequence_id: int) -> None:
    """Hold an active sequence: nothing is sent until it is resumed."""
    _change(ctx, sequence_id, "paused", lambda s, q: set_paused(s, q, True))


@followups.command()
@click.argument("sequence_id", type=int)
@pass_context
def resume(ctx: CliContext, sequence_id: int) -> None:
    """Resume a paused sequence; a task that fell due meanwhile is sent at the next dispatch."""
    _change(ctx, sequence_id, "resumed", lambda s, q: set_paused(s, q, False))


@followups.command()
@click.argument("sequence_id", type=int)
@pass_context
def cancel(ctx: CliContext, sequence_id: int) -> None:
    """End a sequence for good (admin cancelled); its unsent tasks are cancelled."""
    _change(ctx, sequence_id, "cancelled",
            lambda s, q: stop_sequence(s, q, "cancelled by an admin", SequenceState.CANCELLED))


@followups.command()
@click.argument("learner_id", type=int)
@pass_context
def optout(ctx: CliContext, learner_id: int) -> None:
    """Opt a learner out of all follow-ups (as the link on the answer page does)."""
    settings = ctx.settings()
    engine = open_store(settings)
    with store.session_scope(store.session_factory(engine)) as session:
        stopped = opt_out(session, settings.lms.url, learner_id, datetime.now(UTC), "admin")
    ctx.out.print(f"Learner {learner_id} opted out; {stopped} sequence(s) stopped.")


@followups.command()
@click.option("--at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="Dispatch as if it were this time (UTC), for tests and the demo.")
@click.option("--limit", type=int, help="Send at most this many tasks.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def dispatch(ctx: CliContext, at: datetime | None, limit: int | None, as_json: bool) -> None:
    """Send the tasks that are due now (what `sidecar serve` does every minute)."""
    settings = ctx.settings()
    engine = open_store(settings)
    try:
        report = dispatcher_for(settings, engine, _clock(at)).run(limit)
    except (FollowupError, LmsError) as exc:
        _fail(ctx, str(exc))
        return
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        ctx.out.print(f"Sent {report.sent}, found already sent {report.reconciled}, "
                      f"re-sent after a look-up {report.resent_after_lookup}, deferred "
                      f"(quiet hours or daily cap) {report.deferred}, stopped {report.stopped}, "
                      f"refused {report.failed}.", highlight=False)
    if report.failed or report.errors:
        raise click.exceptions.Exit(1)


@followups.command()
@click.option("--at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="Record answers as if it were this time (UTC), for tests and the demo.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def progress(ctx: CliContext, at: datetime | None, as_json: bool) -> None:
    """Record as "done" the sent tasks learners ticked in the LMS (Totara goal tasks; what
    `sidecar serve` does every 15 minutes on Totara). Messages have no ticks: nothing to do."""
    settings = ctx.settings()
    engine = open_store(settings)
    try:
        result = progress_for(settings, engine, _clock(at))
    except (FollowupError, LmsError) as exc:
        _fail(ctx, str(exc))
        return
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    elif result.checked or result.channel != "messages":
        ctx.out.print(f"Channel {result.channel}: {result.checked} sent task(s) asked about, "
                      f"{result.done} marked done, {result.already} answered already, "
                      f"{result.unknown} could not be asked; {result.marked} answer(s) from "
                      "the practice page ticked in the LMS.", highlight=False)
    else:
        ctx.out.print("Channel messages: learners answer through the link in the message; "
                      "there is no progress to read.", highlight=False)
    if result.unknown or result.errors:
        raise click.exceptions.Exit(1)


@followups.command()
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@pass_context
def report(ctx: CliContext, as_json: bool) -> None:
    """Practice done per competency: learners, tasks sent, answers, days to first practice."""
    from webhooks.report import practice_by_competency

    settings = ctx.settings()
    engine = open_store(settings)
    with store.session_scope(store.session_factory(engine)) as session:
        rows = practice_by_competency(session, settings.lms.url)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    table = Table(title="Practice per competency", title_justify="left")
    for column in ("competency", "learners", "sent", "done", "hard", "not yet", "skipped",
                   "stopped", "median days to first practice"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.competency, str(r.learners), str(r.sent), str(r.done), str(r.hard),
                      str(r.not_yet), str(r.skipped), str(r.stopped),
                      "-" if r.days_to_first is None else f"{r.days_to_first:.1f}")
    ctx.out.print(table)


@followups.command()
@click.option("--at", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="Schedule as if it were this time (UTC).")
@pass_context
def intake(ctx: CliContext, at: datetime | None) -> None:
    """Turn new completions from the inbox into follow-up sequences."""
    from webhooks import inbox
    from webhooks.intake import take_completions

    settings = ctx.settings()
    engine = open_store(settings)
    try:
        result = take_completions(engine, inbox, lms_client(settings),  # type: ignore[arg-type]
                                  policy_for(settings), rules_for(settings), _clock(at),
                                  competencies=has_course_competencies(settings))
    except (FollowupError, LmsError) as exc:
        _fail(ctx, str(exc))
        return
    ctx.out.print(f"Started {result.started} sequence(s); {result.ignored} completion(s) "
                  f"without a plan; {result.failed} failed.")
    if result.failed:
        raise click.exceptions.Exit(1)
