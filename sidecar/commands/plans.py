"""What every plan/apply command shows the same way: the API calls a job took, and a
progress bar while a plan is applied (on a terminal only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connector.moodle.client import MoodleClient
from sidecar.context import CliContext
from sync.plan import Op


def calls(client: MoodleClient) -> str:
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
