"""Reading a source file's bytes as text, and telling the formats apart by content."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sync.errors import SourceError, SourceProblem

FORMATS = ("yaml", "moodle-csv", "case")
_ALIASES = {"yml": "yaml", "csv": "moodle-csv", "moodle_csv": "moodle-csv", "json": "case"}
_CSV_COLUMNS = 14


def read_text(path: Path) -> str:
    """The file's text, decoded as UTF-8 with or without a byte-order mark.

    Raises:
        SourceError: the file cannot be opened or holds bytes that are not UTF-8 (the problem
            names the line and byte offset of the first bad byte).
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SourceError([SourceProblem(str(path), f"cannot read the file: {e.strerror}")]) from e
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        reason = (
            f"byte 0x{data[e.start]:02x} at offset {e.start} is not UTF-8; save the file as UTF-8"
        )
        raise SourceError([SourceProblem(str(path), reason, line)]) from e


def normalise_format(name: str) -> str:
    """The canonical format name for a user-given one (yaml, moodle-csv, case).

    Raises:
        ValueError: an unknown format name.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ValueError(f"unknown source format {name!r}; use one of {', '.join(FORMATS)}")
    return key


def detect_format(text: str) -> str | None:
    """Guess the format from the content: CASE JSON, Moodle's 14-column CSV, or YAML; else None."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if data is None or (isinstance(data, dict) and "CFDocument" in data):
            return "case"
    first_line = stripped.splitlines()[0] if stripped else ""
    if first_line.count(",") >= _CSV_COLUMNS - 1:
        try:
            header = next(csv.reader([first_line]))
        except csv.Error:
            header = []
        if len(header) == _CSV_COLUMNS:
            return "moodle-csv"
    if any(
        line.split(":", 1)[0].strip() in {"idnumber", "frameworks", "competencies"}
        for line in stripped.splitlines()
        if ":" in line and not line.startswith(" ")
    ):
        return "yaml"
    return None
