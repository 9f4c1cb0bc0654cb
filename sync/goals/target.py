"""What the goals sync needs of an LMS, whatever the LMS: one small interface, two sites.

:class:`sync.goals.job.GoalSync` reads the exports, holds the lock, checks saved plans and
records runs; everything that differs between LMSs sits behind :class:`GoalTarget`:

* Moodle (:class:`sync.goals.moodle.MoodleGoals`): a goal is a learning plan holding the
  goal's competencies, managers get a role to see it;
* Totara (:class:`sync.goals.totara.TotaraGoals`): a goal is a perform goal of the employee,
  keyed by its ``id_number``.

The composition root (``sidecar``) picks one from ``lms.kind``; nothing below it asks which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.console import RenderableType

from connector.pacing import CallStats
from sync.apply import ApplyResult, Progress
from sync.goals.model import Goal
from sync.goals.report import GoalReport
from sync.plan import Op, Plan


class GoalTarget(Protocol):
    """One LMS's side of the goals sync: read what it holds for the export's people, plan the
    typed steps, carry them out journaled, and read progress back."""

    @property
    def lms(self) -> str:
        """The LMS's name for messages ("Moodle", "Totara")."""
        ...

    @property
    def stats(self) -> CallStats:
        """The API calls made so far (plans and reports print them)."""
        ...

    def plan(self, goals: Sequence[Goal], *, sources: tuple[str, ...] = ()) -> Plan:
        """Read the LMS and the store for ``goals`` and return the steps; writes nothing.

        Raises:
            SourceError: the export names people (or competencies) the LMS lacks; lines named.
            SyncError: the LMS cannot hold goals this way (the message says why).
            LmsError: the LMS could not be read.
        """
        ...

    def basis(self, goals: Sequence[Goal]) -> dict[str, str]:
        """A digest per goal of what the LMS holds now (a saved plan must still match it)."""
        ...

    def restore(self, op: Op) -> Op:
        """Undo what JSON did to an op of a saved plan (nested values read back as dicts)."""
        ...

    def apply(self, plan: Plan, *, trigger: str,
              progress: Progress | None = None) -> ApplyResult:
        """Carry ``plan`` out, journaling each step as it lands; the caller holds the lock."""
        ...

    def report(self, goals: Sequence[Goal]) -> GoalReport:
        """Progress of every goal of ``goals`` that lms-sidecar put into the LMS."""
        ...

    def render(self, plan: Plan) -> RenderableType:
        """The plan as a person reads it."""
        ...

    def summary(self, plan: Plan) -> str:
        """One line: how many of each kind of change."""
        ...
