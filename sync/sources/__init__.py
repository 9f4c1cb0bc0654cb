"""Framework sources: read YAML, Moodle CSV and CASE JSON into `sync.model`, and write them back.

`read_source(path)` detects the format from the content (CASE JSON, Moodle's 14-column CSV, or
YAML) unless `format` names it. Every reader validates what it read and raises one
`SourceError` listing every problem (file, line or CASE item, reason); nothing is half-read.
"""

from __future__ import annotations

from pathlib import Path

from sync.errors import SourceError, SourceProblem
from sync.model import DEFAULT_SCALE, Framework, Scale
from sync.sources.case import parse_case, read_case
from sync.sources.case_writer import dumps_case, write_case
from sync.sources.moodle_csv import (
    dumps_moodle_csv,
    parse_moodle_csv,
    read_moodle_csv,
    write_moodle_csv,
)
from sync.sources.text import FORMATS, detect_format, normalise_format, read_text
from sync.sources.yaml_reader import parse_yaml, read_yaml
from sync.sources.yaml_writer import dumps_yaml, write_yaml

__all__ = [
    "FORMATS",
    "SourceError",
    "detect_format",
    "dumps_case",
    "dumps_moodle_csv",
    "dumps_yaml",
    "read_case",
    "read_moodle_csv",
    "read_source",
    "read_sources",
    "read_yaml",
    "write_case",
    "write_moodle_csv",
    "write_source",
    "write_yaml",
]


def read_source(
    path: Path | str, format: str | None = None, *, scale: Scale = DEFAULT_SCALE
) -> list[Framework]:
    """Read the framework(s) in a source file, detecting its format unless `format` is given.

    `format` is one of yaml, moodle-csv, case (aliases: yml, csv, json); `scale` rates a CASE
    package's competencies, since CASE has no scales.

    Raises:
        SourceError: the file cannot be read, its format is not recognised, or it has problems.
        ValueError: `format` is not a known format name.
    """
    path = Path(path)
    chosen = normalise_format(format) if format is not None else None
    text = read_text(path)
    chosen = chosen or detect_format(text)
    if chosen is None:
        reason = (
            "format not recognised: expected a YAML framework (with idnumber and competencies), "
            "a Moodle competency CSV (14 columns) or a CASE JSON package (with CFDocument)"
        )
        raise SourceError([SourceProblem(str(path), reason)])
    if chosen == "case":
        return [parse_case(text, str(path), scale)]
    if chosen == "moodle-csv":
        return [parse_moodle_csv(text, str(path))]
    return parse_yaml(text, str(path))


def write_source(framework: Framework, path: Path | str, format: str) -> None:
    """Write a framework in a format (yaml, moodle-csv, case), for `sidecar pull`.

    Raises:
        ValueError: `format` is not a known format name.
    """
    chosen = normalise_format(format)
    if chosen == "case":
        write_case(framework, path)
    elif chosen == "moodle-csv":
        write_moodle_csv(framework, path)
    else:
        write_yaml(framework, path)


SOURCE_SUFFIXES = (".yaml", ".yml", ".csv", ".json")


def read_sources(paths: list[Path] | tuple[Path, ...]) -> list[Framework]:
    """Every framework in the given files and folders (a folder: its YAML, CSV and JSON files,
    in name order).

    Raises:
        SourceError: listing the problems of every file at once (a missing path, bad content,
            the same framework idnumber in two files); nothing is returned half-read.
    """
    problems: list[SourceProblem] = []
    frameworks: list[Framework] = []
    seen: dict[str, str] = {}
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES)
        elif path.exists():
            files = [path]
        else:
            problems.append(SourceProblem(str(path), "no such file or folder"))
            continue
        for file in files:
            try:
                found = read_source(file)
            except SourceError as exc:
                problems.extend(exc.problems)
                continue
            for framework in found:
                if framework.idnumber in seen:
                    problems.append(SourceProblem(
                        str(file), f"framework {framework.idnumber!r} is also defined in "
                        f"{seen[framework.idnumber]}"))
                    continue
                seen[framework.idnumber] = str(file)
                frameworks.append(framework)
    if problems:
        raise SourceError(problems)
    return frameworks
