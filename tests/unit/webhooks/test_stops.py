"""Stop rules that ask the LMS: what happens when the optional plan functions are missing."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from connector.errors import FunctionNotInServiceError, LmsServerError
from webhooks.stops import LmsStopChecks, StopCandidate


class FakeLms:
    """Answers the stop rules' calls; ``plans_error`` is raised by ``user_plans``."""

    def __init__(self, plans_error: Exception | None = None,
                 proficient: dict[int, set[int]] | None = None) -> None:
        self.plans_error = plans_error
        self.proficient = proficient or {}
        self.plan_calls = 0

    def user_plans(self, user_id: int) -> list[Any]:
        self.plan_calls += 1
        if self.plans_error is not None:
            raise self.plans_error
        return [SimpleNamespace(id=user_id)] if user_id in self.proficient else []

    def plan_competencies(self, plan_id: int) -> list[Any]:
        return [SimpleNamespace(competency=SimpleNamespace(id=c),
                                rating=SimpleNamespace(proficiency=True))
                for c in self.proficient[plan_id]]


def candidates(*learners: int) -> list[StopCandidate]:
    return [StopCandidate(sequence_id=n, learner_id=n, course_id=1, competency_id=7)
            for n in learners]


def test_proficient_learners_stop_and_others_do_not() -> None:
    checks = LmsStopChecks(FakeLms(proficient={1: {7}}), check_enrolment=False)  # type: ignore[arg-type]
    assert checks.reasons(candidates(1, 2)) == {
        1: "competency rated proficient in the learner's plan"}


def test_missing_plan_functions_skip_the_rule_with_one_clear_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    missing = FunctionNotInServiceError(
        "Access control exception", wsfunction="core_competency_list_user_plans",
        errorcode="accessexception")
    lms = FakeLms(plans_error=missing)
    checks = LmsStopChecks(lms, check_enrolment=False)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        assert checks.reasons(candidates(1, 2, 3)) == {}
    assert lms.plan_calls == 1  # asked once, then the rule is off for the run
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "proficiency rule is skipped" in warning.getMessage()
    assert "core_competency_list_user_plans" in warning.getMessage()
    assert checks.check_proficiency is False


def test_a_transient_failure_skips_the_rule_only_for_that_learner() -> None:
    lms = FakeLms(plans_error=LmsServerError("down", wsfunction="core_competency_list_user_plans"))
    checks = LmsStopChecks(lms, check_enrolment=False)  # type: ignore[arg-type]
    assert checks.reasons(candidates(1, 2)) == {}
    assert lms.plan_calls == 2 and checks.check_proficiency
