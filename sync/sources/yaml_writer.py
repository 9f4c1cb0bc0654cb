"""Writes frameworks in lms-sidecar's YAML format (see `sync.sources.yaml_reader`).

Children are nested under their parents; defaults (html format, visible, no rule) are left out,
multi-line descriptions are written as `|` blocks, so the file reads like one written by hand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sync.model import RULE_POINTS, Competency, DescriptionFormat, Framework, Scale
from sync.sources.yaml_reader import FORMAT_NAMES, OUTCOME_NAMES, RULE_NAMES

_FORMATS = {number: name for name, number in FORMAT_NAMES.items()}
_OUTCOMES = {number: name for name, number in OUTCOME_NAMES.items()}
_RULES = {cls: name for name, cls in RULE_NAMES.items()}


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def write_yaml(frameworks: Framework | Sequence[Framework], path: Path | str) -> None:
    """Write one framework (or several, under `frameworks:`) to a YAML file."""
    Path(path).write_text(dumps_yaml(frameworks), encoding="utf-8")


def dumps_yaml(frameworks: Framework | Sequence[Framework]) -> str:
    """The framework(s) as YAML text."""
    if isinstance(frameworks, Framework):
        document: dict[str, Any] = _framework(frameworks)
    else:
        document = {"frameworks": [_framework(f) for f in frameworks]}
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _framework(framework: Framework) -> dict[str, Any]:
    data: dict[str, Any] = {"idnumber": framework.idnumber, "shortname": framework.shortname}
    _describe(data, framework.description, framework.descriptionformat)
    if not framework.visible:
        data["visible"] = False
    if framework.taxonomies:
        data["taxonomies"] = list(framework.taxonomies)
    if framework.scale is not None:
        data["scale"] = _scale(framework.scale)
    data["competencies"] = [_competency(c, framework) for c in framework.children_of(None)]
    return data


def _describe(data: dict[str, Any], description: str, descriptionformat: int) -> None:
    if description:
        data["description"] = description
    if descriptionformat != DescriptionFormat.HTML:
        data["description_format"] = _FORMATS.get(descriptionformat, descriptionformat)


def _competency(competency: Competency, framework: Framework) -> dict[str, Any]:
    data: dict[str, Any] = {"idnumber": competency.idnumber, "shortname": competency.shortname}
    _describe(data, competency.description, competency.descriptionformat)
    if competency.related:
        data["related"] = list(competency.related)
    if competency.rule_type is not None or competency.rule_outcome:
        data["rule"] = _rule(competency)
    if competency.scale is not None:
        data["scale"] = _scale(competency.scale)
    children = framework.children_of(competency.idnumber)
    if children:
        data["children"] = [_competency(c, framework) for c in children]
    return data


def _rule(competency: Competency) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if competency.rule_type is not None:
        rule["type"] = _RULES.get(competency.rule_type, competency.rule_type)
    rule["outcome"] = _OUTCOMES.get(competency.rule_outcome, competency.rule_outcome)
    if competency.rule_config is None:
        return rule
    if competency.rule_type == RULE_POINTS:
        try:
            config = json.loads(competency.rule_config)
            rule["points"] = config["base"]["points"]
            rule["competencies"] = [
                {"idnumber": e["id"], "points": e["points"], "required": bool(e["required"])}
                for e in config["competencies"]
            ]
        except (ValueError, TypeError, KeyError):
            rule.pop("points", None)
        else:
            return rule
    rule["config"] = competency.rule_config
    return rule


def _scale(scale: Scale) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if scale.values:
        data["values"] = list(scale.values)
    if scale.scale_id is not None:
        data["moodle_id"] = scale.scale_id
    data["default"] = _name(scale, scale.default)
    data["proficient"] = [_name(scale, p) for p in scale.proficient]
    return data


def _name(scale: Scale, position: int | None) -> str | int | None:
    """A scale item by name when the names are known and unambiguous, else by position."""
    if position is None or not 1 <= position <= len(scale.values):
        return position
    name = scale.values[position - 1]
    return name if scale.values.count(name) == 1 else position
