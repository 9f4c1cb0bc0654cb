"""lms-sidecar's own YAML framework format: readable for L&D, exact for Moodle.

One framework per file, or several under a top-level `frameworks:` list::

    idnumber: LEAD-FB                  # required, unique on the site, at most 100 characters
    shortname: Leadership and feedback # required, at most 100 characters
    description: <p>How we lead.</p>   # optional
    description_format: html           # html (default), moodle, plain or markdown
    visible: true                      # default true
    taxonomies: [domain, competency, behaviour]   # optional: Moodle's word for each level
    scale:                             # the rating scale (required)
      values: [Not yet competent, Competent]
      moodle_id: 2                     # optional: a Moodle scale id (alone, or as a hint)
      default: Not yet competent       # a value, or its position 1..n
      proficient: [Competent]          # values or positions
    competencies:
      - idnumber: LF-FEEDBACK
        shortname: Giving feedback
        related: [LF-LISTEN]           # cross references (idnumbers in this framework)
        rule: {type: all, outcome: complete}      # optional completion rule
        children:                      # nest children here ...
          - idnumber: LF-FEEDBACK-1
            shortname: Gives specific, timely feedback
      - idnumber: LF-FEEDBACK-2
        parent: LF-FEEDBACK            # ... or name the parent
        shortname: Asks for feedback

A points rule: `rule: {type: points, outcome: evidence, points: 2, competencies: [{idnumber:
LF-FEEDBACK-1, points: 1, required: true}, ...]}`; any other rule may give Moodle's raw
`config:` JSON. A competency may have its own `scale:`. Unknown keys are reported (they are
usually typos). `sync/sources/README.md` documents the format with a full example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sync.errors import SourceError, SourceProblem
from sync.model import (
    RULE_ALL,
    RULE_POINTS,
    Competency,
    DescriptionFormat,
    Framework,
    RuleOutcome,
    Scale,
    SourceLocation,
    normalise_points_config,
)
from sync.sources.text import read_text
from sync.sources.validate import problems as validation_problems

FORMAT_NAMES = {f.name.lower(): int(f) for f in DescriptionFormat}
OUTCOME_NAMES = {o.name.lower(): int(o) for o in RuleOutcome}
RULE_NAMES = {"all": RULE_ALL, "points": RULE_POINTS}
_FRAMEWORK_KEYS = {
    "idnumber",
    "shortname",
    "description",
    "description_format",
    "visible",
    "taxonomies",
    "scale",
    "competencies",
}
_COMPETENCY_KEYS = {
    "idnumber",
    "shortname",
    "description",
    "description_format",
    "parent",
    "children",
    "related",
    "rule",
    "scale",
}
_RULE_KEYS = {"type", "outcome", "points", "competencies", "config"}
_SCALE_KEYS = {"values", "moodle_id", "default", "proficient"}


class _Map(dict[str, Any]):
    """A YAML mapping that remembers its line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    duplicates: list[tuple[int, str]]


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if key in result:
            loader.duplicates.append((line, key))
        result.key_lines[key] = line
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def read_yaml(path: Path | str) -> list[Framework]:
    """Read a YAML framework file (one framework, or several under `frameworks:`).

    Raises:
        SourceError: every problem found: bad encoding, malformed YAML, unknown keys, wrong
            types, and anything Moodle would refuse (see `sync.sources.validate`).
    """
    path = Path(path)
    return parse_yaml(read_text(path), str(path))


def parse_yaml(text: str, file: str) -> list[Framework]:
    """Parse YAML framework text; `file` names the source in problems.

    Raises:
        SourceError: see `read_yaml`.
    """
    loader = _Loader(text)
    loader.duplicates = []
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        reason = getattr(e, "problem", None) or str(e)
        line = mark.line + 1 if mark is not None else None
        context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and context_mark is not None:
            reason = f"{reason} ({context} started on line {context_mark.line + 1})"
        raise SourceError([SourceProblem(file, f"malformed YAML: {reason}", line)]) from e
    finally:
        loader.dispose()
    reader = _Reader(file)
    reader.found += [
        SourceProblem(file, f"key {k!r} appears twice", n) for n, k in loader.duplicates
    ]
    frameworks = reader.document(document)
    for framework in frameworks:
        reader.found += validation_problems(framework)
    if reader.found:
        raise SourceError(reader.found)
    return frameworks


class _Reader:
    """Turns the loaded YAML into frameworks, collecting problems instead of stopping."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[SourceProblem] = []

    def _problem(self, line: int | None, reason: str) -> None:
        self.found.append(SourceProblem(self.file, reason, line))

    def _line(self, mapping: _Map, key: str) -> int:
        return mapping.key_lines.get(key, mapping.line)

    def _keys(self, mapping: _Map, known: set[str], what: str) -> None:
        for key in mapping:
            if key not in known:
                self._problem(
                    self._line(mapping, key),
                    f"unknown key {key!r} in {what} (known: {', '.join(sorted(known))})",
                )

    def _text(self, mapping: _Map, key: str, default: str = "") -> str:
        value = mapping.get(key, default)
        if value is None:
            return default
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        self._problem(self._line(mapping, key), f"{key} must be text")
        return default

    def _list(self, mapping: _Map, key: str) -> list[Any]:
        value = mapping.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self._problem(self._line(mapping, key), f"{key} must be a list")
        return []

    def _map(self, value: object, line: int, what: str) -> _Map | None:
        if isinstance(value, _Map):
            return value
        self._problem(line, f"{what} must be a mapping of keys to values")
        return None

    def _choice(self, mapping: _Map, key: str, names: dict[str, int], default: int) -> int:
        value = mapping.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in names:
            return names[value.strip().lower()]
        self._problem(self._line(mapping, key), f"{key} {value!r} is not one of {', '.join(names)}")
        return default

    def document(self, document: object) -> list[Framework]:
        if document is None:
            self._problem(None, "the file is empty")
            return []
        top = self._map(document, 1, "the file")
        if top is None:
            return []
        if "frameworks" not in top:
            framework = self.framework(top)
            return [framework] if framework else []
        self._keys(top, {"frameworks"}, "the file")
        frameworks = []
        for value in self._list(top, "frameworks"):
            mapping = self._map(value, top.line, "each framework")
            framework = self.framework(mapping) if mapping is not None else None
            if framework is not None:
                frameworks.append(framework)
        return frameworks

    def framework(self, mapping: _Map) -> Framework | None:
        self._keys(mapping, _FRAMEWORK_KEYS, "a framework")
        visible = mapping.get("visible", True)
        if not isinstance(visible, bool):
            self._problem(self._line(mapping, "visible"), "visible must be true or false")
            visible = True
        taxonomies = tuple(str(t).strip().lower() for t in self._list(mapping, "taxonomies"))
        competencies: list[Competency] = []
        for value in self._list(mapping, "competencies"):
            self.competency(value, self._line(mapping, "competencies"), None, competencies)
        return Framework(
            idnumber=self._text(mapping, "idnumber"),
            shortname=self._text(mapping, "shortname"),
            description=self._text(mapping, "description"),
            descriptionformat=self._choice(mapping, "description_format", FORMAT_NAMES, 1),
            visible=visible,
            scale=self.scale(mapping),
            taxonomies=taxonomies,
            competencies=tuple(competencies),
            location=SourceLocation(self.file, mapping.line),
        )

    def competency(
        self, value: object, line: int, parent: str | None, out: list[Competency]
    ) -> None:
        mapping = self._map(value, line, "each competency")
        if mapping is None:
            return
        self._keys(mapping, _COMPETENCY_KEYS, "a competency")
        idnumber = self._text(mapping, "idnumber")
        named = self._text(mapping, "parent") or None
        if parent is not None and named is not None and named != parent:
            self._problem(
                self._line(mapping, "parent"),
                f"parent {named!r} differs from the enclosing competency {parent!r}",
            )
        rule_type, outcome, config = self.rule(mapping, idnumber)
        out.append(
            Competency(
                idnumber=idnumber,
                shortname=self._text(mapping, "shortname"),
                description=self._text(mapping, "description"),
                descriptionformat=self._choice(mapping, "description_format", FORMAT_NAMES, 1),
                parent=parent or named,
                rule_type=rule_type,
                rule_outcome=outcome,
                rule_config=config,
                scale=self.scale(mapping) if "scale" in mapping else None,
                related=tuple(str(r) for r in self._list(mapping, "related")),
                location=SourceLocation(self.file, mapping.line),
            )
        )
        for child in self._list(mapping, "children"):
            self.competency(child, self._line(mapping, "children"), idnumber, out)

    def rule(self, owner: _Map, idnumber: str) -> tuple[str | None, int, str | None]:
        if owner.get("rule") is None:
            return None, 0, None
        mapping = self._map(owner["rule"], self._line(owner, "rule"), "rule")
        if mapping is None:
            return None, 0, None
        self._keys(mapping, _RULE_KEYS, "a rule")
        name = self._text(mapping, "type")
        rule_type = RULE_NAMES.get(name.strip().lower(), name) or None
        outcome = self._choice(mapping, "outcome", OUTCOME_NAMES, 0)
        if "config" in mapping:
            raw = self._text(mapping, "config") or None
            if raw is not None and rule_type == RULE_POINTS:
                raw = normalise_points_config(raw)
            return rule_type, outcome, raw
        if rule_type != RULE_POINTS:
            return rule_type, outcome, None
        entries = []
        for value in self._list(mapping, "competencies"):
            entry = self._map(value, mapping.line, "each points rule competency")
            if entry is not None:
                entries.append(
                    {
                        "id": self._text(entry, "idnumber"),
                        "points": entry.get("points", 1),
                        "required": int(bool(entry.get("required", False))),
                    }
                )
        config = {"base": {"points": mapping.get("points", 1)}, "competencies": entries}
        return rule_type, outcome, normalise_points_config(json.dumps(config))

    def scale(self, owner: _Map) -> Scale | None:
        line = self._line(owner, "scale")
        mapping = self._map(owner.get("scale"), line, "scale") if "scale" in owner else None
        if mapping is None:
            return None
        self._keys(mapping, _SCALE_KEYS, "a scale")
        values = tuple(str(v).strip() for v in self._list(mapping, "values"))
        moodle_id = mapping.get("moodle_id")
        if moodle_id is not None and (
            isinstance(moodle_id, bool) or not isinstance(moodle_id, int)
        ):
            self._problem(self._line(mapping, "moodle_id"), "moodle_id must be a whole number")
            moodle_id = None
        default = mapping.get("default")
        proficient = mapping.get("proficient", [])
        if not isinstance(proficient, list):
            proficient = [proficient]
        return Scale(
            values=values,
            scale_id=moodle_id,
            default=self._position(default, values, self._line(mapping, "default")),
            proficient=tuple(
                sorted(
                    {
                        p
                        for v in proficient
                        if (p := self._position(v, values, self._line(mapping, "proficient")))
                    }
                )
            ),
        )

    def _position(self, value: object, values: tuple[str, ...], line: int) -> int | None:
        """A scale value's 1-based position, from its name or its number."""
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if str(value).strip() in values:
            return values.index(str(value).strip()) + 1
        self._problem(line, f"{value!r} is not one of the scale's values")
        return None
