"""Errors raised by the sync package: `SyncError` is the root, `SourceError` covers bad sources.

A `SourceError` is raised before anything is planned or sent: it never leaves a half-read source
behind, so retrying it is pointless until someone fixes the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SyncError(Exception):
    """Root of every error the sync package raises."""


@dataclass(frozen=True)
class SourceProblem:
    """One thing wrong in a source file: where (file, line or CASE item) and why."""

    file: str
    reason: str
    line: int | None = None
    item: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}:{self.line}"
        if self.item is not None:
            where = f"{where} [item {self.item}]"
        return f"{where}: {self.reason}"


class SourceError(SyncError, ValueError):
    """A framework source could not be read; `problems` lists every problem found, in file order.

    Not retry-safe: the same input gives the same error.
    """

    def __init__(self, problems: Iterable[SourceProblem]) -> None:
        self.problems: tuple[SourceProblem, ...] = tuple(
            sorted(problems, key=lambda p: (p.file, p.line or 0))
        )
        super().__init__(self._message())

    def _message(self) -> str:
        files = sorted({p.file for p in self.problems})
        count = len(self.problems)
        head = (
            f"{', '.join(files)}: {count} problem{'s' if count != 1 else ''} found, "
            "nothing was read"
        )
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class PlanError(SyncError):
    """The sources cannot be planned against this site (e.g. a scale without a Moodle id)."""


class StalePlanError(SyncError):
    """A saved plan no longer matches what the LMS holds; plan again before applying."""


class SyncBusyError(SyncError):
    """Another apply for the same site holds the lock (another process or instance)."""
