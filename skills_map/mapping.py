"""The mapping file: which courses build which competencies, with which rule outcome.

YAML::

    framework: WORK-SKILLS        # optional: default framework of the competencies below
    outcome: evidence             # optional: none, evidence, recommend or complete
    links:
      - course: COMM-101          # course shortname or idnumber
        outcome: complete         # optional: default for this course
        competencies:
          - WS-COMM-FEEDBACK
          - {idnumber: LF-FEEDBACK, framework: LEAD-FB, outcome: recommend}

CSV: a header ``course,competency[,outcome][,framework]`` and one link per row.

:func:`read_mapping` checks the file itself (shape, outcomes, duplicates) and reports every
problem with its line; :func:`skills_map.catalogue.resolve` then checks courses and
competencies against the LMS. Nothing is sent while either finds a problem.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import yaml

from skills_map.errors import MappingError, Problem


class Outcome(IntEnum):
    """What completing the course does to the competency (Moodle's course-link outcomes;
    not the numbering of competency rules)."""

    NONE = 0
    EVIDENCE = 1
    RECOMMEND = 2
    COMPLETE = 3

    @property
    def label(self) -> str:
        return self.name.lower()


OUTCOME_NAMES = ", ".join(o.label for o in Outcome)
DEFAULT_OUTCOME = Outcome.EVIDENCE
CSV_COLUMNS = ("course", "competency", "outcome", "framework")
_LINK_KEYS = {"course", "competencies", "outcome", "framework"}
_COMPETENCY_KEYS = {"idnumber", "outcome", "framework"}
_TOP_KEYS = {"links", "framework", "outcome"}


@dataclass(frozen=True)
class MappedLink:
    """One wanted link, as written: course and competency references, outcome, line."""

    course: str
    competency: str
    outcome: Outcome
    framework: str | None = None
    line: int | None = None

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.course, self.framework, self.competency)


@dataclass(frozen=True)
class Mapping:
    """A mapping file's links, in file order."""

    path: Path
    links: tuple[MappedLink, ...]


def parse_outcome(value: object) -> Outcome | None:
    """An outcome from its name or number; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Outcome(value) if value in Outcome._value2member_map_ else None
    text = str(value).strip().lower()
    if text.isdigit():
        return parse_outcome(int(text))
    return next((o for o in Outcome if o.label == text), None)


def read_mapping(path: Path) -> Mapping:
    """Read and check a YAML or CSV mapping file.

    Raises:
        MappingError: every problem found, each with its line and what was expected.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError([Problem(str(path), None, f"cannot be read: {exc}")]) from exc
    reader = _CsvReader if path.suffix.lower() == ".csv" else _YamlReader
    links, problems = reader(str(path)).read(text)
    problems += _duplicates(str(path), links)
    if problems:
        raise MappingError(sorted(problems, key=lambda p: (p.line or 0, p.reason)))
    return Mapping(path, tuple(links))


def _duplicates(file: str, links: list[MappedLink]) -> list[Problem]:
    seen: dict[tuple[str, str | None, str], MappedLink] = {}
    problems = []
    for link in links:
        first = seen.setdefault(link.key, link)
        if first is not link:
            problems.append(Problem(file, link.line, f"{link.course} -> {link.competency} is "
                                    f"listed twice (first on line {first.line})", "competency"))
    return problems


class _YamlReader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node | None, reason: str, field: str | None = None) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(self.file, line, reason, field))

    def read(self, text: str) -> tuple[list[MappedLink], list[Problem]]:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else None
            return [], [Problem(self.file, line, f"not valid YAML: {exc.problem}")]
        if root is None:
            return [], [Problem(self.file, None, "is empty; expected a `links:` list")]
        if not isinstance(root, yaml.MappingNode):
            self.problem(root, "expected a mapping with a `links:` list at the top")
            return [], self.problems
        top = self.fields(root, _TOP_KEYS, "top level")
        framework = self.scalar(top.get("framework"), "framework")
        outcome = self.outcome(top.get("outcome"), DEFAULT_OUTCOME)
        items = top.get("links")
        if not isinstance(items, yaml.SequenceNode):
            self.problem(items or root, "expected `links:` with a list of courses", "links")
            return [], self.problems
        links: list[MappedLink] = []
        for item in items.value:
            links += self.link(item, framework, outcome)
        return links, self.problems

    def fields(self, node: yaml.MappingNode, allowed: set[str],
               where: str) -> dict[str, yaml.Node]:
        found: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = str(key_node.value)
            if key not in allowed:
                self.problem(key_node, f"unknown key in {where}; expected one of "
                             f"{', '.join(sorted(allowed))}", key)
            elif key in found:
                self.problem(key_node, "is written twice", key)
            else:
                found[key] = value
        return found

    def scalar(self, node: yaml.Node | None, field: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.problem(node, "expected a non-empty text", field)
            return None
        return str(node.value).strip()

    def outcome(self, node: yaml.Node | None, default: Outcome) -> Outcome:
        if node is None:
            return default
        value = parse_outcome(node.value) if isinstance(node, yaml.ScalarNode) else None
        if value is None:
            self.problem(node, f"unknown rule outcome; expected one of {OUTCOME_NAMES}",
                         "outcome")
            return default
        return value

    def link(self, node: yaml.Node, framework: str | None,
             outcome: Outcome) -> list[MappedLink]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, "expected a course entry with `course:` and `competencies:`")
            return []
        entry = self.fields(node, _LINK_KEYS, "a course entry")
        course = self.scalar(entry.get("course"), "course")
        if "course" not in entry:
            self.problem(node, "missing; expected a course shortname or idnumber", "course")
        framework = self.scalar(entry.get("framework"), "framework") or framework
        outcome = self.outcome(entry.get("outcome"), outcome)
        items = entry.get("competencies")
        if not isinstance(items, yaml.SequenceNode) or not items.value:
            self.problem(items or node, "expected a list of competency idnumbers",
                         "competencies")
            return []
        links = [self.competency(item, course, framework, outcome) for item in items.value]
        return [link for link in links if link is not None and course is not None]

    def competency(self, node: yaml.Node, course: str | None, framework: str | None,
                   outcome: Outcome) -> MappedLink | None:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            idnumber = self.scalar(node, "competencies")
        elif isinstance(node, yaml.MappingNode):
            entry = self.fields(node, _COMPETENCY_KEYS, "a competency entry")
            idnumber = self.scalar(entry.get("idnumber"), "idnumber")
            if "idnumber" not in entry:
                self.problem(node, "missing; expected the competency's idnumber", "idnumber")
            framework = self.scalar(entry.get("framework"), "framework") or framework
            outcome = self.outcome(entry.get("outcome"), outcome)
        else:
            self.problem(node, "expected a competency idnumber or {idnumber: ..., outcome: ...}",
                         "competencies")
            return None
        if idnumber is None or course is None:
            return None
        return MappedLink(course, idnumber, outcome, framework, line)


class _CsvReader:
    def __init__(self, file: str) -> None:
        self.file = file

    def read(self, text: str) -> tuple[list[MappedLink], list[Problem]]:
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in ("course", "competency") if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if missing or unknown:
            reason = (f"header must name the columns {', '.join(CSV_COLUMNS[:2])} (and "
                      f"optionally {', '.join(CSV_COLUMNS[2:])})")
            if unknown:
                reason += f"; unknown: {', '.join(unknown)}"
            return [], [Problem(self.file, 1, reason)]
        links: list[MappedLink] = []
        problems: list[Problem] = []
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problems.append(Problem(self.file, line, f"has {len(row)} columns; expected "
                                        f"{len(header)} ({', '.join(header)})"))
                continue
            values = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
            link = self.link(values, line, problems)
            if link is not None:
                links.append(link)
        return links, problems

    def link(self, values: dict[str, str], line: int,
             problems: list[Problem]) -> MappedLink | None:
        for column in ("course", "competency"):
            if not values[column]:
                problems.append(Problem(self.file, line, "is empty", column))
        outcome = parse_outcome(values.get("outcome") or DEFAULT_OUTCOME.label)
        if outcome is None:
            problems.append(Problem(self.file, line, f"unknown rule outcome "
                                    f"{values['outcome']!r}; expected one of {OUTCOME_NAMES}",
                                    "outcome"))
        if not values["course"] or not values["competency"] or outcome is None:
            return None
        return MappedLink(values["course"], values["competency"], outcome,
                          values.get("framework") or None, line)
