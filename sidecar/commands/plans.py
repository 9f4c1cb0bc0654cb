"""What every plan/apply command shows the same way: the API calls a job took, and a
progress bar while a plan is applied (on a terminal only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn, Protocol

import click
from rich.console import RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connector.pacing import CallStats
from sidecar.context import CHANGES_PENDING, OK, CliContext
from sync.plan import Op, Plan


class Counted(Protocol):
    """Anything that counts its API calls: a client, or a job over one."""

    @property
    def stats(self) -> CallStats: ...


def show_plan(ctx: CliContext, the_plan: Plan, client: Counted, *, as_json: bool,
              out: Path | None, render: Callable[[Plan], RenderableType],
              apply_command: str) -> NoReturn:
    """Print a plan (text or JSON), save it when asked, and exit like Terraform's
    ``-detailed-exitcode``: 0 nothing to do, 2 changes pending."""
    if out:
        out.write_text(the_plan.to_json(), encoding="utf-8")
    if as_json:
        click.echo(the_plan.to_json())
    else:
        ctx.out.print(render(the_plan))
        ctx.err.print(calls(client), highlight=False)
        if out:
            ctx.err.print(f"Saved the plan to {out}; apply it with: {apply_command} {out}",
                          highlight=False)
    raise click.exceptions.Exit(OK if the_plan.is_empty else CHANGES_PENDING)


def calls(client: Counted) -> str:
    """'84 API calls (create_competency 79, ...)': the busiest functions first."""
    rows = client.stats.by_function()
    detail = ", ".join(f"{r.function.removeprefix('core_competency_')} {r.calls}"
                       for r in rows[:6])
    return f"{client.stats.calls} API calls" + (f" ({detail})" if detail else "")


@contextmanager
def progress(ctx: CliContext, quiet: bool,
             label: Callable[[Op], str] = lambda op: op.idnumber,
             ) -> Iterator[Callable[[Op, str], None] | None]:
    """A progress callback for an apply (None when quiet or not on a terminal)."""
    if quiet or not ctx.err.is_terminal:
        yield None
        return
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=ctx.err, transient=True)
    with bar:
        task = bar.add_task("Applying", total=None)

        def advance(op: Op, status: str) -> None:
            bar.update(task, advance=1, description=f"Applying {label(op)}")

        yield advance
