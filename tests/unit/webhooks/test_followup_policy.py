"""The plans file: validation with line numbers, safe templates, matching; FSRS mapping; timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from webhooks.fsrs_adapter import Answer, bounds, initial_card, review
from webhooks.policy import PlansFileError, load_policy, render
from webhooks.timing import QuietWindow, on_working_day, quiet_until

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "followups.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plans.yaml"
    path.write_text(text)
    return path


def test_the_example_plans_file_loads() -> None:
    policy = load_policy(EXAMPLE, [2, 7, 21, 60])
    [match] = [m for m in policy.match({"COMM-101"}, []) if m.plan.id == "sbi-feedback"]
    assert match.plan.spacing_days == (2, 7, 21, 60)
    assert "SBI" in match.plan.tasks[0]


def test_unknown_placeholder_is_named_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "plans:\n  - id: a\n    title: A\n    courses: [C]\n"
                            "    tasks:\n      - Hi $learner_name\n")
    with pytest.raises(PlansFileError) as error:
        load_policy(path, [2])
    [problem] = error.value.problems
    assert "line 5" in problem and "$learner_name" in problem and "$learner_firstname" in problem


def test_several_problems_each_with_a_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "plans:\n  - id: a\n    title: A\n    courses: [C]\n    tasks: [x]\n"
                            "    colour: red\n  - id: a\n    title: B\n    tasks: [y]\n")
    with pytest.raises(PlansFileError) as error:
        load_policy(path, [2])
    text = str(error.value)
    assert "line 6, plans[0].colour: unknown key" in text


def test_duplicate_ids_and_plans_that_never_apply(tmp_path: Path) -> None:
    path = _write(tmp_path, "plans:\n  - id: a\n    title: A\n    courses: [C]\n    tasks: [x]\n"
                            "  - id: a\n    title: B\n    tasks: [y]\n")
    with pytest.raises(PlansFileError) as error:
        load_policy(path, [2])
    assert any("used twice" in p and "line 6" in p for p in error.value.problems)
    assert any("never apply" in p for p in error.value.problems)


def test_bad_yaml_and_bad_spacing(tmp_path: Path) -> None:
    with pytest.raises(PlansFileError, match="line 3: not valid YAML"):
        load_policy(_write(tmp_path, "plans:\n  - [unclosed\n"), [2])
    path = _write(tmp_path, "plans:\n  - id: a\n    title: A\n    courses: [C]\n    tasks: [x]\n"
                            "    spacing_days: [7, 2]\n")
    with pytest.raises(PlansFileError, match=r"line 6.*strictly increasing"):
        load_policy(path, [2])


def test_templates_are_safe_and_matching_uses_courses_and_competencies(tmp_path: Path) -> None:
    path = _write(tmp_path, "plans:\n  - id: by-course\n    title: T\n    courses: [COMM-101]\n"
                            "    tasks: ['$learner_firstname: {0} $$5 ${course_name}']\n"
                            "  - id: by-comp\n    title: U\n    competencies: [WS-X, WS-Y]\n"
                            "    tasks: [go]\n")
    policy = load_policy(path, [2, 7])
    text = render(policy.plans[0].tasks[0], {"learner_firstname": "Zoë",
                                              "course_name": "{__import__}"})
    assert text == "Zoë: {0} $5 {__import__}"
    assert [m.plan.id for m in policy.match({"COMM-101"}, [])] == ["by-course"]
    [match] = policy.match({"OTHER"}, ["WS-Y"])
    assert (match.plan.id, match.competency) == ("by-comp", "WS-Y")
    assert policy.plans[0].offset_days(3) == 17  # past the list, the last gap repeats


def test_answers_map_to_ratings_within_the_plans_bounds() -> None:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    card = initial_card(at, 2, 60)
    later = at + timedelta(days=2)
    good = review(card, Answer.DONE, later, planned_days=5, first_gap_days=2, longest_days=60)
    hard = review(card, Answer.HARD, later, planned_days=5, first_gap_days=2, longest_days=60)
    again = review(card, Answer.NOT_YET, later, planned_days=5, first_gap_days=2,
                   longest_days=60)
    skip = review(card, Answer.SKIP, later, planned_days=5, first_gap_days=2, longest_days=60)
    assert (good.rating, hard.rating, again.rating, skip.rating) == (3, 2, 1, None)
    assert again.days < hard.days <= 5 < good.days <= 10
    assert skip.days == 5 and skip.card == card
    assert bounds(14, 60) == (7, 28)


def test_quiet_hours_and_working_days() -> None:
    window = QuietWindow.parse("20:00", "08:00")
    paris = ZoneInfo("Europe/Paris")
    late = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)  # 22:30 in Paris
    assert quiet_until(late, paris, window) == datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 11, 2, 12, tzinfo=UTC), paris, window) is None
    saturday = datetime(2026, 11, 7, 10, tzinfo=UTC)
    assert on_working_day(saturday, paris).weekday() == 0
