"""Moodle's competency framework CSV (admin tool tool_lpimportcsv): read it and write it.

The 14 columns are taken BY POSITION, as Moodle's `framework_importer` does (the header row is
skipped, and Moodle translates it, so its words are not checked):

 0 Parent id number       5 Scale values (comma-joined)    10 Cross referenced competency id
 1 Id number              6 Scale configuration (JSON)        numbers (comma-joined, a comma
 2 Shortname              7 Rule type (optional)              inside one written as %2C)
 3 Description            8 Rule outcome (optional)        11 Exported id (optional)
 4 Description format     9 Rule config (optional, "null") 12 Is framework (1 on one row)
                                                           13 Taxonomy (comma-joined, per level)

The file is UTF-8 with or without a byte-order mark; fields may hold quoted line breaks. The
exported ids only serve to translate a points rule's competency ids into idnumbers. The writer
reproduces Moodle's `framework_exporter` byte for byte (PHP's fputcsv quoting, "\\n" line ends,
ids numbered in source order), so Moodle's own importer accepts its output. One difference from
PHP's reader: a backslash directly before a double quote inside a field is read the RFC 4180 way.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from sync.errors import SourceError, SourceProblem
from sync.model import (
    RULE_POINTS,
    Competency,
    DescriptionFormat,
    Framework,
    Scale,
    SourceLocation,
    normalise_points_config,
)
from sync.sources.text import read_text
from sync.sources.validate import problems as validation_problems

HEADER = (
    "Parent id number",
    "Id number",
    "Shortname",
    "Description",
    "Description format",
    "Scale values",
    "Scale configuration",
    "Rule type (optional)",
    "Rule outcome (optional)",
    "Rule config (optional)",
    "Cross referenced competency id numbers",
    "Exported id (optional)",
    "Is framework",
    "Taxonomy",
)
_COLUMNS = len(HEADER)
_PHP_QUOTE_TRIGGERS = frozenset(',"\\\n\r\t ')


def read_moodle_csv(path: Path | str) -> Framework:
    """Read a tool_lpimportcsv CSV file into a validated framework.

    Raises:
        SourceError: every problem in the file (bad encoding, malformed CSV, wrong column
            counts, no or several framework rows, bad values, anything Moodle would refuse).
    """
    path = Path(path)
    return parse_moodle_csv(read_text(path), str(path))


def parse_moodle_csv(text: str, file: str) -> Framework:
    """Parse tool_lpimportcsv CSV text; `file` names the source in problems.

    Raises:
        SourceError: see `read_moodle_csv`.
    """
    found: list[SourceProblem] = []
    rows = list(_records(text, file, found))
    builder = _Builder(file, found)
    for line, row in rows:
        builder.add(line, row)
    framework = builder.framework()
    if framework is not None:
        found.extend(validation_problems(framework))
    if found or framework is None:
        raise SourceError(found)
    return framework


def _records(text: str, file: str, found: list[SourceProblem]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for index, row in enumerate(reader):
            line, start = start, reader.line_num + 1
            if index == 0:
                if len(row) != _COLUMNS:
                    found.append(
                        SourceProblem(file, _columns_reason(len(row)) + " in the header", line)
                    )
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != _COLUMNS:
                found.append(SourceProblem(file, _columns_reason(len(row)), line))
                continue
            yield line, row
    except csv.Error as e:
        found.append(SourceProblem(file, f"malformed CSV: {e}", start))


def _columns_reason(count: int) -> str:
    return f"expected Moodle's {_COLUMNS} columns, found {count}"


class _Builder:
    """Collects rows into a framework, noting problems instead of stopping at the first."""

    def __init__(self, file: str, found: list[SourceProblem]) -> None:
        self.file = file
        self.found = found
        self.frameworks: list[Framework] = []
        self.competencies: list[Competency] = []
        self.exported: dict[str, str] = {}

    def _problem(self, line: int, reason: str) -> None:
        self.found.append(SourceProblem(self.file, reason, line))

    def _int(self, line: int, value: str, default: int, what: str) -> int:
        if not value.strip():
            return default
        try:
            return int(value)
        except ValueError:
            self._problem(line, f"{what} {value!r} is not a whole number")
            return default

    def _scale(self, line: int, values: str, config: str) -> Scale | None:
        names = tuple(v.strip() for v in values.split(",")) if values.strip() else ()
        if not config.strip():
            if names:
                self._problem(line, "scale values given without a scale configuration")
            return None
        if not names:
            self._problem(line, "scale configuration given without scale values")
            return None
        try:
            return Scale.from_configuration(config, names)
        except ValueError as e:
            self._problem(line, str(e))
            return None

    def add(self, line: int, row: list[str]) -> None:
        location = SourceLocation(self.file, line)
        fmt = self._int(line, row[4], DescriptionFormat.HTML, "description format")
        scale = self._scale(line, row[5], row[6])
        if row[12].strip() not in ("", "0"):
            taxonomies = tuple(t.strip() for t in row[13].split(",")) if row[13].strip() else ()
            self.frameworks.append(
                Framework(row[1], row[2], row[3], fmt, True, scale, taxonomies, (), location)
            )
            return
        related = tuple(r.replace("%2C", ",") for r in row[10].split(",") if r)
        config = None if row[9].strip() in ("", "null") else row[9]
        competency = Competency(
            idnumber=row[1],
            shortname=row[2],
            description=row[3],
            descriptionformat=fmt,
            parent=row[0] or None,
            rule_type=row[7].strip() or None,
            rule_outcome=self._int(line, row[8], 0, "rule outcome"),
            rule_config=config,
            scale=scale,
            related=related,
            location=location,
        )
        self.competencies.append(competency)
        if row[11].strip():
            self.exported[row[11].strip()] = row[1]

    def framework(self) -> Framework | None:
        if not self.frameworks:
            self.found.append(SourceProblem(self.file, 'no row has "Is framework" set to 1'))
            return None
        for extra in self.frameworks[1:]:
            self._problem(extra.location.line or 0, "a second framework row; a file holds one")
        competencies = tuple(self._translate_rule(c) for c in self.competencies)
        return replace(self.frameworks[0], competencies=competencies)

    def _translate_rule(self, competency: Competency) -> Competency:
        if competency.rule_type != RULE_POINTS or competency.rule_config is None:
            return competency
        line = competency.location.line or 0
        try:
            config = json.loads(competency.rule_config)
            for entry in config["competencies"]:
                exported = str(entry["id"])
                if exported not in self.exported:
                    self._problem(
                        line, f"points rule names exported id {exported}, which no row has"
                    )
                entry["id"] = self.exported.get(exported, exported)
        except (ValueError, TypeError, KeyError):
            return competency  # validation reports the malformed config
        return replace(competency, rule_config=normalise_points_config(json.dumps(config)))


def write_moodle_csv(framework: Framework, path: Path | str) -> None:
    """Write a framework as Moodle's exporter would, for Moodle's importer to read."""
    Path(path).write_bytes(dumps_moodle_csv(framework).encode("utf-8"))


def dumps_moodle_csv(framework: Framework) -> str:
    """The framework as tool_lpimportcsv CSV text, in Moodle's exporter's exact shape."""
    scale = framework.scale
    lines = [
        _php_csv_line(HEADER),
        _php_csv_line(
            (
                "",
                framework.idnumber,
                framework.shortname,
                framework.description,
                str(int(framework.descriptionformat)),
                ",".join(scale.values) if scale else "",
                scale.configuration() if scale else "",
                "",
                "",
                "",
                "",
                "",
                "1",
                ",".join(framework.taxonomies),
            )
        ),
    ]
    exported = {c.idnumber: str(n) for n, c in enumerate(framework.competencies, start=1)}
    for competency in framework.competencies:
        own = competency.scale
        lines.append(
            _php_csv_line(
                (
                    competency.parent or "",
                    competency.idnumber,
                    competency.shortname,
                    competency.description,
                    str(int(competency.descriptionformat)),
                    ",".join(own.values) if own else "",
                    own.configuration() if own else "",
                    competency.rule_type or "",
                    str(int(competency.rule_outcome)),
                    _export_rule_config(competency, exported),
                    ",".join(r.replace(",", "%2C") for r in competency.related),
                    exported[competency.idnumber],
                    "",
                    "",
                )
            )
        )
    return "".join(lines)


def _export_rule_config(competency: Competency, exported: dict[str, str]) -> str:
    if competency.rule_config is None:
        return "null"
    if competency.rule_type != RULE_POINTS:
        return competency.rule_config
    config = json.loads(competency.rule_config)
    for entry in config["competencies"]:
        entry["id"] = int(exported[str(entry["id"])])
    return json.dumps(config, separators=(",", ":"))


def _php_csv_line(fields: tuple[str, ...]) -> str:
    """One record the way PHP's fputcsv writes it (enclosure '"', escape '\\', eol "\\n")."""
    out = []
    for value in fields:
        if not _PHP_QUOTE_TRIGGERS.intersection(value):
            out.append(value)
            continue
        chars, escaped = ['"'], False
        for char in value:
            if char == "\\":
                escaped = True
            elif not escaped and char == '"':
                chars.append('"')
            else:
                escaped = False
            chars.append(char)
        chars.append('"')
        out.append("".join(chars))
    return ",".join(out) + "\n"
