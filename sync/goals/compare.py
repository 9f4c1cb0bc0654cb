"""Plans compared the way Moodle stores them, and the fingerprints kept in the store.

A fingerprint has three parts, ``F<fields>.C<competencies>.S<status>``: a digest of the plan's
name, description and due date as Moodle stores them, a digest of its competency ids, and
``o`` (open: draft, active, in review) or ``c`` (complete). The store keeps the fingerprint of
what lms-sidecar last wrote; a part that differs from Moodle now was changed by hand.
Totara's goals keep the same kind of fingerprint (:class:`sync.goals.totara_ops.Print`) made
with the same two helpers, :func:`digest` and :func:`print_parts`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from connector.moodle import models as m
from connector.moodle.text import comparable_html, format_string, plain_name
from sync.goals.model import Goal
from sync.model import DescriptionFormat

DRAFT_STATUSES = (0, 3, 4)  # draft, waiting for review, in review
ACTIVE, COMPLETE = 1, 2
# Moodle refuses an active plan's due date in the past or within 10 minutes
# (plan::validate_duedate); an hour more covers the time between plan and apply.
DUEDATE_MARGIN = 600 + 3600


@dataclass(frozen=True)
class Fields:
    """The plan fields lms-sidecar writes, as Moodle would hold them."""

    name: str
    description: str
    descriptionformat: int
    duedate: int

    def canonical(self) -> tuple[str, str, int, int]:
        text = (comparable_html(self.description)
                if self.descriptionformat in (DescriptionFormat.HTML, DescriptionFormat.MOODLE)
                else self.description.strip())
        return (plain_name(format_string(self.name)).strip(), text, self.descriptionformat,
                self.duedate)

    def differences(self, other: Fields) -> list[tuple[str, object, object]]:
        """(field, other's value, this value) for each field that differs from ``other``."""
        mine, theirs = self.canonical(), other.canonical()
        names = ("name", "description", "descriptionformat", "duedate")
        return [(name, getattr(other, name), getattr(self, name))
                for index, name in enumerate(names) if mine[index] != theirs[index]]


def plan_fields(plan: m.Plan) -> Fields:
    return Fields(plan.name, plan.description, plan.descriptionformat, plan.duedate)


def goal_fields(goal: Goal, duedate: int) -> Fields:
    return Fields(goal.title, goal.description, goal.descriptionformat, duedate)


def status_part(status: int) -> str:
    return "c" if status == COMPLETE else "o"


def digest(value: object, size: int = 12) -> str:
    """The first ``size`` hex digits of the SHA-256 of ``value`` as JSON."""
    return hashlib.sha256(json.dumps(value, default=str).encode()).hexdigest()[:size]


def print_parts(text: str | None, letters: str) -> list[str] | None:
    """The parts of a stored fingerprint ``<letter><part>.…`` without their letters; None
    when there is none or its letters are not ``letters`` (it is not this kind's)."""
    parts = (text or "").split(".")
    if len(parts) != len(letters) or not all(parts) or [p[0] for p in parts] != list(letters):
        return None
    return [part[1:] for part in parts]


def fields_part(fields: Fields) -> str:
    return digest(fields.canonical())


def competencies_part(ids: Iterable[int]) -> str:
    return digest(sorted(set(ids)))


@dataclass(frozen=True)
class Fingerprint:
    fields: str
    competencies: str
    status: str

    def __str__(self) -> str:
        return f"F{self.fields}.C{self.competencies}.S{self.status}"

    @classmethod
    def parse(cls, text: str | None) -> Fingerprint | None:
        """The stored fingerprint, None when there is none or it is not one of ours."""
        parts = print_parts(text, "FCS")
        return cls(*parts) if parts else None

    @classmethod
    def of(cls, fields: Fields, competency_ids: Iterable[int], status: int) -> Fingerprint:
        return cls(fields_part(fields), competencies_part(competency_ids), status_part(status))


def effective_due(due: int, *, becomes_active: bool, current: m.Plan | None, now: int) -> int:
    """The due date to write: the goal's, unless Moodle would refuse it.

    Moodle checks an active plan's due date (not a draft's, not a completed one's, not an
    unchanged one unless the plan leaves draft): it must be empty or later than ten minutes
    from now. A past due date on a plan that is or becomes active is written as empty.
    """
    if not due or not becomes_active or due > now + DUEDATE_MARGIN:
        return due
    if current is not None and current.duedate == due and current.status not in DRAFT_STATUSES:
        return due
    return 0
