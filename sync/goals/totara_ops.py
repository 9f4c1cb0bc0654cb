"""The typed steps of a goals plan on Totara, and how goals are compared there.

A goal of the export becomes one perform goal of the employee whose ``id_number`` is derived
from the goal id (:func:`id_number`), so that a goal is found again by it whatever the store
remembers. Each writing step carries the fingerprint of what the goal holds once it has landed
(``F<fields>.S<o|c>``: a digest of name, description and dates, and open or completed); the
store keeps the last one, so a later plan tells a hand edit in Totara (drift) from a change in
the export, as on Moodle.

Assumptions (the contract names the input fields, not their values): dates are written as
ISO-8601 days (``2027-06-30``) and read back as days, ISO date-times or Unix seconds; the
status enum is ``not_started`` / ``in_progress`` / ``completed``; ``target_type`` "date" goals
get ``target_value`` 100 and start at ``current_value`` 0, which the employee moves in Totara.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from connector.totara import models as tm
from sync.goals.compare import digest, print_parts
from sync.goals.model import Goal, GoalStatus
from sync.goals.ops import GoalOp
from sync.plan import Change, register_op

GOAL_KIND = "totara_goal"  # lms_objects rows: external_id "<goal id>@<Totara user id>"
ID_NUMBER_PREFIX = "hr:"
ID_NUMBER_MAX = 100  # assumed, as Moodle's idnumber columns (char(100))
TARGET_TYPE = "date"
TARGET_VALUE = 100.0
NOT_STARTED, IN_PROGRESS, COMPLETED = "not_started", "in_progress", "completed"
FIELDS = ("name", "description", "start_date", "target_date")


def id_number(goal_id: str) -> str:
    """The perform goal's id_number for an export's goal id: stable, and marked as HR's."""
    return ID_NUMBER_PREFIX + goal_id


def day(timestamp: int, timezone: str) -> str:
    """A goal's date (Unix seconds, 0 = none) as the ISO day in the export's time zone."""
    if not timestamp:
        return ""
    return datetime.fromtimestamp(timestamp, ZoneInfo(timezone)).date().isoformat()


def read_day(value: str | None) -> str:
    """A date as Totara answers it, as an ISO day ("" for none)."""
    text = (value or "").strip()
    if not text:
        return ""
    if text.lstrip("-").isdigit():
        return "" if int(text) == 0 else datetime.fromtimestamp(int(text), UTC).date().isoformat()
    return text[:10]


@dataclass(frozen=True)
class GoalFields:
    """What lms-sidecar writes of a goal, as Totara would hold it."""

    name: str
    description: str
    start_date: str
    target_date: str

    def canonical(self) -> tuple[str, str, str, str]:
        return (" ".join(self.name.split()), self.description.strip(), self.start_date,
                self.target_date)

    def differences(self, now: GoalFields) -> list[tuple[str, str, str]]:
        """(field, value now, value wanted) for each field that differs from ``now``."""
        mine, theirs = self.canonical(), now.canonical()
        return [(name, getattr(now, name), getattr(self, name))
                for index, name in enumerate(FIELDS) if mine[index] != theirs[index]]

    def digest(self) -> str:
        return digest(self.canonical())


def wanted_fields(goal: Goal, timezone: str) -> GoalFields:
    return GoalFields(goal.title, goal.description, day(goal.start, timezone),
                      day(goal.due, timezone))


def held_fields(goal: tm.Goal) -> GoalFields:
    return GoalFields(goal.name, goal.description or "", read_day(goal.start_date),
                      read_day(goal.target_date))


def status_part(status: str | None) -> str:
    return "c" if status == COMPLETED else "o"


@dataclass(frozen=True)
class Print:
    """A goal's fingerprint: its fields' digest and open (``o``) or completed (``c``)."""

    fields: str
    status: str

    def __str__(self) -> str:
        return f"F{self.fields}.S{self.status}"

    @classmethod
    def parse(cls, text: str | None) -> Print | None:
        """The stored fingerprint, None when there is none or it is not a Totara goal's."""
        parts = print_parts(text, "FS")
        return cls(*parts) if parts else None

    @classmethod
    def of(cls, goal: tm.Goal) -> Print:
        return cls(held_fields(goal).digest(), status_part(goal.status))


def create_values(goal: Goal, user_id: int, timezone: str) -> dict[str, Any]:
    """The contract's input of ``perform_goal_create_goal`` for ``goal``; empty dates left
    out."""
    fields = wanted_fields(goal, timezone)
    values: dict[str, Any] = {
        "name": goal.title, "user": {"id": user_id}, "id_number": id_number(goal.goal_id),
        "description": goal.description, "target_type": TARGET_TYPE,
        "target_value": TARGET_VALUE, "current_value": 0.0,
        "status": COMPLETED if goal.status is GoalStatus.DONE else NOT_STARTED}
    if fields.start_date:
        values["start_date"] = fields.start_date
    if fields.target_date:
        values["target_date"] = fields.target_date
    return values


@dataclass(frozen=True)
class TotaraGoalOp(GoalOp):
    """A step on one employee's perform goal; ``lms_id`` is the goal's id (0 until created)."""

    kind: ClassVar[str] = "totara_goal_op"
    id_number: str = ""


@register_op
@dataclass(frozen=True)
class CreateGoal(TotaraGoalOp):
    kind: ClassVar[str] = "create_goal"
    values: dict[str, Any] = field(default_factory=dict)


@register_op
@dataclass(frozen=True)
class AdoptGoal(TotaraGoalOp):
    """A goal of the employee with the goal's id_number that lms-sidecar has no record of
    (a lost answer, or a lost store): remembered as the goal's, never created again."""

    kind: ClassVar[str] = "adopt_goal"


@register_op
@dataclass(frozen=True)
class UpdateGoal(TotaraGoalOp):
    kind: ClassVar[str] = "update_goal"
    changes: tuple[Change, ...] = ()


@register_op
@dataclass(frozen=True)
class DeleteGoal(TotaraGoalOp):
    kind: ClassVar[str] = "delete_goal"
