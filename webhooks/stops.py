"""Stop rules that ask the LMS: learner suspended or unenrolled, competency rated proficient.

One :class:`LmsStopChecks` serves one dispatch run and remembers what it learnt, so a batch
of tasks costs one user lookup per batch, one participant list per course and one plan read
per learner, not one call per task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from connector.errors import FunctionNotInServiceError, LmsError, UnknownFunctionError
from connector.moodle.client import MoodleClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StopCandidate:
    """What a stop rule needs to know about a task's sequence."""

    sequence_id: int
    learner_id: int
    course_id: int
    competency_id: int | None


class StopRules(Protocol):
    """What the dispatcher asks before sending: which sequences must stop, and why."""

    def reasons(self, candidates: Iterable[StopCandidate]) -> dict[int, str]:
        """Sequence id -> reason, for the ``candidates`` whose sequence must stop."""
        ...


@dataclass
class LmsStopChecks:
    """Looks the stop rules up in the LMS with ``client`` (the main token, not the coach;
    on Totara the legacy web services, which have the same user and enrolment functions
    but no competency plans: the wiring refuses ``check_proficiency`` there)."""

    client: MoodleClient
    check_enrolment: bool = True
    check_proficiency: bool = True
    _users: dict[int, bool] = field(default_factory=dict)  # learner -> usable (not suspended)
    _courses: dict[int, set[int]] = field(default_factory=dict)  # course -> active learners
    _proficient: dict[int, set[int]] = field(default_factory=dict)  # learner -> competencies

    def reasons(self, candidates: Iterable[StopCandidate]) -> dict[int, str]:
        """The sequences among ``candidates`` that must stop, with the reason; a rule whose
        lookup fails is not applied (the task is sent, and the rule is asked again next run).
        """
        items = list(candidates)
        stops: dict[int, str] = {}
        if self.check_enrolment:
            self._load_users({c.learner_id for c in items})
            for course in {c.course_id for c in items}:
                self._load_course(course)
        for item in items:
            reason = self._reason(item)
            if reason:
                stops[item.sequence_id] = reason
        return stops

    def _reason(self, item: StopCandidate) -> str | None:
        if self.check_enrolment:
            if self._users.get(item.learner_id) is False:
                return "learner suspended or deleted in the LMS"
            active = self._courses.get(item.course_id)
            if active is not None and item.learner_id not in active:
                return "learner no longer enrolled in the course"
        if self.check_proficiency and item.competency_id is not None:
            proficient = self._load_proficiency(item.learner_id)
            if item.competency_id in proficient:
                return "competency rated proficient in the learner's plan"
        return None

    def _load_users(self, learners: set[int]) -> None:
        wanted = sorted(learners - self._users.keys())
        if not wanted:
            return
        try:
            found = {u.id: not u.suspended for u in self.client.users_by_field("id", wanted)}
        except LmsError as exc:
            log.warning("stop rules: could not read %d learners: %s", len(wanted), exc)
            return
        for learner in wanted:
            self._users[learner] = found.get(learner, False)

    def _load_course(self, course_id: int) -> None:
        if course_id in self._courses:
            return
        try:
            self._courses[course_id] = {u.id for u in self.client.enrolled_users(course_id)}
        except LmsError as exc:
            log.warning("stop rules: could not list participants of course %s: %s",
                        course_id, exc)

    def _load_proficiency(self, learner_id: int) -> set[int]:
        if learner_id in self._proficient:
            return self._proficient[learner_id]
        proficient: set[int] = set()
        try:
            for plan in self.client.user_plans(learner_id):
                for item in self.client.plan_competencies(plan.id):
                    rating = item.rating
                    if rating is not None and rating.proficiency:
                        proficient.add(item.competency.id)
        except (FunctionNotInServiceError, UnknownFunctionError) as exc:
            # Optional functions (connector.moodle.functions): without them the rule cannot
            # be asked at all, so it is switched off for this run with one warning.
            log.warning("stop rules: the proficiency rule is skipped: %s is not available to "
                        "the token (add it to the external service, or set "
                        "followups.stop_when_proficient: false)", exc.wsfunction or exc)
            self.check_proficiency = False
            return proficient
        except LmsError as exc:
            log.warning("stop rules: could not read the plans of learner %s: %s",
                        learner_id, exc)
            return proficient
        self._proficient[learner_id] = proficient
        return proficient
