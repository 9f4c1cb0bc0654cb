"""Checks a framework against what Moodle would accept, before anything is planned or sent.

`problems(framework)` returns every problem found (empty when the framework is fine); readers
add them to their own parse problems and raise one `SourceError`.
"""

from __future__ import annotations

import json
import re

from sync.errors import SourceProblem
from sync.model import (
    IDNUMBER_MAX,
    RULE_ALL,
    RULE_POINTS,
    RULE_TYPES,
    SHORTNAME_MAX,
    TAXONOMIES_MAX,
    TAXONOMY_TERMS,
    Competency,
    DescriptionFormat,
    Framework,
    RuleOutcome,
    Scale,
    SourceLocation,
)

_TAG = re.compile(r"<[a-zA-Z/!]")


def problem(location: SourceLocation, reason: str) -> SourceProblem:
    """A problem at a model location."""
    return SourceProblem(location.file, reason, location.line, location.item)


def problems(framework: Framework) -> list[SourceProblem]:
    """Every reason Moodle would refuse (or silently change) this framework."""
    found = [problem(framework.location, r) for r in _framework_reasons(framework)]
    seen: dict[str, Competency] = {}
    for competency in framework.competencies:
        reasons = list(_competency_reasons(competency, framework))
        first = seen.setdefault(competency.idnumber, competency)
        if first is not competency and competency.idnumber:
            reasons.append(
                f"duplicate idnumber {competency.idnumber!r} (first used at {first.location})"
            )
        label = f"competency {competency.idnumber!r}: " if competency.idnumber else ""
        found.extend(problem(competency.location, label + r) for r in reasons)
    found.extend(_cycle_problems(framework))
    return found


def _framework_reasons(framework: Framework) -> list[str]:
    reasons = _name_reasons("framework", framework.idnumber, framework.shortname)
    reasons += _format_reasons(framework.descriptionformat)
    if framework.scale is None:
        reasons.append("the framework has no scale; Moodle needs one")
    else:
        reasons += [f"framework scale: {r}" for r in scale_reasons(framework.scale)]
    unknown = [t for t in framework.taxonomies if t not in TAXONOMY_TERMS]
    if unknown:
        reasons.append(
            f"unknown taxonomy term(s) {', '.join(map(repr, unknown))}; "
            f"Moodle knows {', '.join(TAXONOMY_TERMS)}"
        )
    if len(",".join(framework.taxonomies)) > TAXONOMIES_MAX:
        reasons.append(f"taxonomies are longer than Moodle's {TAXONOMIES_MAX} characters")
    return reasons


def _name_reasons(kind: str, idnumber: str, shortname: str) -> list[str]:
    reasons = []
    for name, value, limit in (
        ("idnumber", idnumber, IDNUMBER_MAX),
        ("name", shortname, SHORTNAME_MAX),
    ):
        if not value.strip():
            reasons.append(f"{kind} {name} is empty")
        elif len(value) > limit:
            reasons.append(
                f"{kind} {name} is {len(value)} characters long; Moodle's limit is {limit}"
            )
    if _TAG.search(shortname):
        reasons.append(f"{kind} name contains HTML tags, which Moodle strips from names")
    return reasons


def _format_reasons(descriptionformat: int) -> list[str]:
    if descriptionformat in set(DescriptionFormat):
        return []
    return [
        f"description format {descriptionformat} is not one of Moodle's "
        "0 (moodle), 1 (html), 2 (plain), 4 (markdown)"
    ]


def scale_reasons(scale: Scale) -> list[str]:
    """Why Moodle would reject this scale configuration (empty if it would not)."""
    reasons = []
    if not scale.values and scale.scale_id is None:
        reasons.append("the scale has neither values nor a Moodle scale id")
    if any(not value.strip() for value in scale.values):
        reasons.append("a scale value is empty")
    if scale.scale_id is not None and scale.scale_id < 1:
        reasons.append(f"scale id {scale.scale_id} is not a Moodle id")
    count = len(scale.values)
    if scale.default is None:
        reasons.append("no scale value is marked as the default")
    elif scale.default < 1 or (count and scale.default > count):
        reasons.append(f"default value {scale.default} is out of range 1..{count or '?'}")
    if not scale.proficient:
        reasons.append("no scale value is marked as proficient")
    bad = [p for p in scale.proficient if p < 1 or (count and p > count)]
    if bad:
        reasons.append(
            f"proficient value(s) {', '.join(map(str, bad))} out of range 1..{count or '?'}"
        )
    return reasons


def _competency_reasons(competency: Competency, framework: Framework) -> list[str]:
    reasons = _name_reasons("competency", competency.idnumber, competency.shortname)
    reasons += _format_reasons(competency.descriptionformat)
    parent = competency.parent
    if parent is not None and parent not in framework.by_idnumber:
        reasons.append(f"parent {parent!r} is not in the framework")
    if competency.scale is not None:
        reasons += [f"scale: {r}" for r in scale_reasons(competency.scale)]
    for other in competency.related:
        if other == competency.idnumber:
            reasons.append("is cross-referenced to itself")
        elif other not in framework.by_idnumber:
            reasons.append(f"cross-referenced competency {other!r} is not in the framework")
    return reasons + _rule_reasons(competency, framework)


def _rule_reasons(competency: Competency, framework: Framework) -> list[str]:
    if competency.rule_outcome not in set(RuleOutcome):
        return [
            f"rule outcome {competency.rule_outcome} is not one of Moodle's "
            "0 (none), 1 (evidence), 2 (complete), 3 (recommend)"
        ]
    if competency.rule_type is None:
        if competency.rule_config is not None:
            return ["has a rule config but no rule type"]
        return []
    if competency.rule_type not in RULE_TYPES:
        return [f"rule type {competency.rule_type!r} is not one of {', '.join(RULE_TYPES)}"]
    if competency.rule_type == RULE_ALL:
        return [] if competency.rule_config is None else ["the 'all' rule takes no config"]
    if competency.rule_type == RULE_POINTS:
        return _points_reasons(competency, framework)
    return []


def _points_reasons(competency: Competency, framework: Framework) -> list[str]:
    try:
        config = json.loads(competency.rule_config or "")
        required = int(config["base"]["points"])
        entries = [(str(e["id"]), int(e["points"]), e["required"]) for e in config["competencies"]]
    except (ValueError, TypeError, KeyError):
        return ['points rule config is not {"base": {"points": N}, "competencies": [...]}']
    reasons = []
    children = {c.idnumber for c in framework.children_of(competency.idnumber)}
    ids = [idnumber for idnumber, _, _ in entries]
    if not entries:
        reasons.append("points rule lists no competencies")
    if required < 1:
        reasons.append("points rule needs at least 1 point")
    if required > sum(points for _, points, _ in entries):
        reasons.append(f"points rule needs {required} points but its competencies give fewer")
    if any(points < 0 for _, points, _ in entries):
        reasons.append("points rule gives negative points")
    if len(set(ids)) != len(ids):
        reasons.append("points rule lists a competency twice")
    outsiders = [i for i in ids if i not in children]
    if outsiders:
        reasons.append(
            f"points rule lists {', '.join(map(repr, outsiders))}, which are not its children"
        )
    return reasons


def _cycle_problems(framework: Framework) -> list[SourceProblem]:
    index = framework.by_idnumber
    done: set[str] = set()
    found = []
    for start in index:
        trail: list[str] = []
        current: str | None = start
        while current is not None and current in index and current not in done:
            if current in trail:
                cycle = [*trail[trail.index(current) :], current]
                found.append(
                    problem(index[current].location, f"parents form a cycle: {' -> '.join(cycle)}")
                )
                break
            trail.append(current)
            current = index[current].parent
        done.update(trail)
    return found
