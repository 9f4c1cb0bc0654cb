"""Follow-up plans written by people: which completions get which practice tasks, and when.

A plans file (YAML, named by ``followups.plans_file``) maps courses (shortname or idnumber)
and/or competencies (idnumber) to a short sequence of practice tasks. Task texts are
``string.Template`` texts with a fixed set of placeholders (``$learner_firstname``...);
an unknown placeholder is an error when the file is read, never at send time. Every
problem names the file, the line and what was expected.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PLACEHOLDERS: dict[str, str] = {
    "learner_firstname": "the learner's first name",
    "learner_fullname": "the learner's full name",
    "course_name": "the completed course's full name",
    "course_shortname": "the completed course's short name",
    "competency_name": "the competency the plan practises (empty when none)",
    "competency_idnumber": "its idnumber (empty when none)",
    "plan_title": "the plan's title",
}
_PLAN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TASK_CHARS = 1500


class FollowupError(Exception):
    """Root of the follow-up feature's own errors."""


class PlansFileError(FollowupError):
    """The plans file cannot be read or is not valid; ``problems`` lists each with its line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"Follow-up plans file {path}:\n" + "\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanSpec(_Strict):
    """One plan as written in the file."""

    id: str = Field(description="Stable name of the plan; sequences are keyed by it.")
    title: str = Field(min_length=1, max_length=200)
    courses: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()
    spacing_days: tuple[int, ...] | None = None
    tasks: tuple[str, ...] = Field(min_length=1, max_length=12)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _PLAN_ID.match(value):
            raise ValueError("expected letters, digits, '.', '_' or '-' (at most 64), such as "
                             "sbi-feedback")
        return value

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for number, text in enumerate(value, 1):
            check_template(text, f"task {number}")
        return value

    @field_validator("spacing_days")
    @classmethod
    def _spacing(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and (any(d < 1 for d in value) or list(value) != sorted(set(value))):
            raise ValueError("expected whole days, at least 1, strictly increasing")
        return value


class PlansFileModel(_Strict):
    version: int = Field(default=1, ge=1, le=1)
    plans: tuple[PlanSpec, ...] = Field(min_length=1)


def check_template(text: str, where: str) -> None:
    """Raise ValueError naming ``where`` when ``text`` is empty, too long, malformed or uses a
    placeholder outside :data:`PLACEHOLDERS`."""
    if not text.strip():
        raise ValueError(f"{where} is empty")
    if len(text) > MAX_TASK_CHARS:
        raise ValueError(f"{where} is longer than {MAX_TASK_CHARS} characters")
    template = Template(text)
    if not template.is_valid():
        raise ValueError(f"{where}: a '$' must start a placeholder such as $learner_firstname "
                         "(write $$ for a dollar sign)")
    unknown = sorted(set(template.get_identifiers()) - PLACEHOLDERS.keys())
    if unknown:
        raise ValueError(f"{where}: unknown placeholder(s) {', '.join('$' + u for u in unknown)}; "
                         f"known: {', '.join('$' + k for k in PLACEHOLDERS)}")


@dataclass(frozen=True)
class Plan:
    """A validated plan with its spacing resolved."""

    id: str
    title: str
    courses: frozenset[str]
    competencies: tuple[str, ...]
    spacing_days: tuple[int, ...]
    tasks: tuple[str, ...]

    def offset_days(self, index: int) -> int:
        """Days after the completion on which task ``index`` (0-based) falls due as planned;
        past the end of the spacing list the last gap repeats."""
        spacing = self.spacing_days
        if index < len(spacing):
            return spacing[index]
        last_gap = spacing[-1] - (spacing[-2] if len(spacing) > 1 else 0)
        return spacing[-1] + last_gap * (index - len(spacing) + 1)

    def gap_days(self, index: int) -> int:
        """Planned days between task ``index - 1`` and task ``index``."""
        return self.offset_days(index) - (self.offset_days(index - 1) if index else 0)


@dataclass(frozen=True)
class Match:
    """A plan that applies to a completion, with the competency it practises (if any)."""

    plan: Plan
    competency: str | None


@dataclass(frozen=True)
class Policy:
    """Every plan of the plans file."""

    plans: tuple[Plan, ...]

    def plan(self, plan_id: str) -> Plan | None:
        return self._by_id.get(plan_id)

    @functools.cached_property
    def _by_id(self) -> dict[str, Plan]:
        """Plans by id (a dispatch looks one up per task); the first of a repeated id wins."""
        found: dict[str, Plan] = {}
        for plan in self.plans:
            found.setdefault(plan.id, plan)
        return found

    def match(self, course_keys: set[str], competencies: list[str]) -> list[Match]:
        """The plans for a completed course known by ``course_keys`` (shortname, idnumber) that
        is linked to ``competencies`` (idnumbers, in the course's order)."""
        found = []
        for plan in self.plans:
            wanted = [c for c in plan.competencies if c in competencies]
            if plan.courses & course_keys:
                found.append(Match(plan, wanted[0] if wanted else
                                   (plan.competencies[0] if plan.competencies else None)))
            elif wanted:
                found.append(Match(plan, wanted[0]))
        return found


def render(text: str, values: dict[str, str]) -> str:
    """A task text with its placeholders filled (every known one has a value, maybe empty)."""
    if "$" not in text:  # nothing to fill ("$$" is Template's escaped "$")
        return text
    return Template(text).substitute({key: values.get(key, "") for key in PLACEHOLDERS})


def load_policy(path: Path, default_spacing: list[int] | tuple[int, ...]) -> Policy:
    """Read and validate the plans file at ``path``.

    Raises:
        PlansFileError: unreadable, not YAML, or invalid; each problem names its line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlansFileError(path, [f"cannot be read: {exc}"]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise PlansFileError(path, [f"  line {line}: not valid YAML ({exc.problem})"]) from exc
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
    try:
        model = PlansFileModel.model_validate(data if data is not None else {})
    except ValidationError as exc:
        errors = exc.errors()
        # A bad item also fails the list's length check; report only the item.
        deeper = [e for e in errors if len(e["loc"]) > 1]
        errors = [e for e in errors if not (e["type"] == "too_short" and deeper)]
        raise PlansFileError(path, [_problem(err, lines) for err in errors]) from exc
    problems = _cross_checks(model, lines)
    if problems:
        raise PlansFileError(path, problems)
    return Policy(tuple(
        Plan(id=spec.id, title=spec.title, courses=frozenset(spec.courses),
             competencies=spec.competencies,
             spacing_days=tuple(spec.spacing_days or default_spacing), tasks=spec.tasks)
        for spec in model.plans))


def _cross_checks(model: PlansFileModel, lines: dict[tuple[str, ...], int]) -> list[str]:
    problems = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(model.plans):
        line = lines.get(("plans", str(index)), "?")
        if spec.id in seen:
            problems.append(f"  line {line}, plans[{index}].id: plan id {spec.id!r} is used "
                            f"twice (first by plans[{seen[spec.id]}]); ids must be unique")
        seen.setdefault(spec.id, index)
        if not spec.courses and not spec.competencies:
            problems.append(f"  line {line}, plans[{index}]: names no courses and no "
                            "competencies, so it would never apply")
    return problems


def _problem(err: Any, lines: dict[tuple[str, ...], int]) -> str:
    loc = tuple(str(part) for part in err["loc"])
    line: int | str = "?"
    for size in range(len(loc), -1, -1):
        if loc[:size] in lines:
            line = lines[loc[:size]]
            break
    where = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or "(top)"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    return f"  line {line}, {where}: {message}"


def _walk(node: yaml.Node, prefix: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, str(key_node.value))
            lines.setdefault(path, key_node.start_mark.line + 1)
            _walk(value_node, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*prefix, str(index)), lines)
