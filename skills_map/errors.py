"""Errors of the skills map, rooted at :class:`SkillsMapError`."""

from __future__ import annotations

from dataclasses import dataclass


class SkillsMapError(Exception):
    """Base of every skills-map error; the message is meant for the admin."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping file: where, which field, and what was expected."""

    file: str
    line: int | None
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        field = f", {self.field}" if self.field else ""
        return f"{where}{field}: {self.reason}"


class MappingError(SkillsMapError):
    """A mapping file has problems; nothing was sent to the LMS."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the mapping file has {count} (nothing was sent):\n{lines}")


class MapBusyError(SkillsMapError):
    """Another apply of the skills map for this site is running."""


class StaleMapPlanError(SkillsMapError):
    """A saved plan no longer matches what Moodle holds."""
