"""A performance goal as HR wrote it: what the goal export holds, read and checked.

Nothing about a person is decided here: the values are carried as written (a status of
``done`` is HR's word, never computed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from sync.model import DescriptionFormat

PLAN_NAME_MAX = 100  # competency_plan.name is char(100) in Moodle
_TAG = re.compile(r"<[a-zA-Z][^>]*>")


class GoalStatus(StrEnum):
    ACTIVE = "active"
    DONE = "done"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Goal:
    """One goal of one employee, from one line (CSV) or object (JSON) of an export.

    ``start`` and ``due`` are Unix timestamps, 0 when not given; ``competencies`` are the
    idnumbers as written, ``FRAMEWORK:idnumber`` where HR disambiguated one.
    """

    goal_id: str
    employee: str
    title: str
    status: GoalStatus
    description: str = ""
    start: int = 0
    due: int = 0
    manager: str = ""
    competencies: tuple[str, ...] = ()
    file: str = ""
    line: int = 0

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def descriptionformat(self) -> int:
        """HTML when the text has tags, else plain text (line breaks kept as written)."""
        return int(DescriptionFormat.HTML if _TAG.search(self.description)
                   else DescriptionFormat.PLAIN)
