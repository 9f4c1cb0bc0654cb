"""Read goal exports (CSV or JSON) into :class:`Goal` values, checking every line first.

Every problem is collected with its file and line (bad dates, a due date before the start,
duplicate goal ids, an empty title, an unknown status, missing columns) and raised together
as one :class:`~sync.errors.SourceError` before anything is planned or sent.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from difflib import get_close_matches
from pathlib import Path
from zoneinfo import ZoneInfo

from sync.errors import SourceError, SourceProblem
from sync.goals.model import PLAN_NAME_MAX, Goal, GoalStatus

COLUMNS = ("goal_id", "employee", "title", "description", "start_date", "due_date", "status",
           "manager", "competencies")
REQUIRED = ("goal_id", "employee", "title", "status")
ALIASES = {"id": "goal_id", "goal": "goal_id", "name": "title", "start": "start_date",
           "due": "due_date", "competency_idnumbers": "competencies",
           "competency": "competencies"}
END_OF_DAY = time(23, 59)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Row = tuple[int, Mapping[str, object]]


def read_goals(paths: Iterable[Path], *, timezone: str = "UTC") -> list[Goal]:
    """Every goal of every file, in file order. Raises SourceError listing every problem."""
    goals: list[Goal] = []
    problems: list[SourceProblem] = []
    seen: dict[str, str] = {}
    for path in paths:
        rows, found = _rows(path)
        problems += found
        for line, row in rows:
            goal, wrong = _goal(path, line, row, ZoneInfo(timezone))
            problems += wrong + _duplicate(seen, _text(row, "goal_id"), path, line)
            if goal is not None:
                goals.append(goal)
    if problems:
        raise SourceError(problems)
    return goals


def _rows(path: Path) -> tuple[list[Row], list[SourceProblem]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return [], [SourceProblem(str(path), f"cannot be read: {reason}")]
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        return _json_rows(path, text)
    return _csv_rows(path, text)


def _column(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return ALIASES.get(key, key)


def _missing_columns(path: Path, line: int, seen: Sequence[str]) -> list[SourceProblem]:
    problems = []
    for column in REQUIRED:
        if column in seen:
            continue
        unknown = [c for c in seen if c not in COLUMNS]
        close = get_close_matches(column, unknown, n=1)
        hint = f"; is {close[0]!r} meant to be it?" if close else ""
        problems.append(SourceProblem(str(path), f"no {column!r} column (expected columns: "
                                      f"{', '.join(COLUMNS)}){hint}", line))
    return problems


def _csv_rows(path: Path, text: str) -> tuple[list[Row], list[SourceProblem]]:
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [_column(c) for c in next(reader)]
    except StopIteration:
        return [], [SourceProblem(str(path), "is empty: expected a header line with the "
                                  f"columns {', '.join(COLUMNS)}")]
    problems = _missing_columns(path, 1, header)
    if problems:
        return [], problems
    rows: list[Row] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(cells) > len(header):
                    problems.append(SourceProblem(str(path), f"{len(cells)} cells but the "
                                                  f"header has {len(header)} columns", start))
                rows.append((start, dict(zip(header, cells, strict=False))))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(SourceProblem(str(path), f"not valid CSV: {exc}", reader.line_num))
    return rows, problems


def _json_rows(path: Path, text: str) -> tuple[list[Row], list[SourceProblem]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [SourceProblem(str(path), f"not valid JSON: {exc.msg}", exc.lineno)]
    items = data.get("goals") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return [], [SourceProblem(str(path), 'expected a list of goals, or {"goals": [...]}')]
    lines = list(_item_lines(text))
    rows: list[Row] = []
    problems: list[SourceProblem] = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else 0
        if not isinstance(item, dict):
            problems.append(SourceProblem(str(path), "expected an object with the goal's "
                                          "fields", line, item=str(index + 1)))
            continue
        item = {_column(str(k)): v for k, v in item.items()}
        missing = _missing_columns(path, line, list(item))
        problems += missing
        if not missing:
            rows.append((line, item))
    return rows, problems


def _item_lines(text: str) -> Iterator[int]:
    """The line on which each object of the goal list starts."""
    match = re.search(r'"goals"\s*:\s*\[', text) if text.lstrip().startswith("{") else None
    position = match.end() if match else text.index("[") + 1
    decoder = json.JSONDecoder()
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            return
        yield text.count("\n", 0, position) + 1
        _, position = decoder.raw_decode(text, position)


def _text(row: Mapping[str, object], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).strip()


def _goal(path: Path, line: int, row: Mapping[str, object],
          zone: ZoneInfo) -> tuple[Goal | None, list[SourceProblem]]:
    problems: list[str] = []
    goal_id, employee, title = (_text(row, k) for k in ("goal_id", "employee", "title"))
    for key, value in (("goal_id", goal_id), ("employee", employee), ("title", title)):
        if not value:
            problems.append(f"{key} is empty")
    if len(title) > PLAN_NAME_MAX:
        problems.append(f"title is {len(title)} characters long; Moodle keeps at most "
                        f"{PLAN_NAME_MAX} for a plan's name")
    status_text = _text(row, "status").lower()
    if status_text not in {s.value for s in GoalStatus}:
        problems.append(f"status {_text(row, 'status')!r} is not one of active, done, withdrawn")
    start = _timestamp(_text(row, "start_date"), "start_date", zone, problems)
    due = _timestamp(_text(row, "due_date"), "due_date", zone, problems)
    if start and due and due < start:
        problems.append(f"due_date {_text(row, 'due_date')} is before start_date "
                        f"{_text(row, 'start_date')}")
    competencies = _competencies(row.get("competencies"), problems)
    found = [SourceProblem(str(path), f"goal {goal_id or '?'}: {p}", line) for p in problems]
    if found:
        return None, found
    return Goal(goal_id=goal_id, employee=employee, title=title,
                status=GoalStatus(status_text), description=_text(row, "description"),
                start=start, due=due, manager=_text(row, "manager"),
                competencies=competencies, file=str(path), line=line), []


def _timestamp(text: str, key: str, zone: ZoneInfo, problems: list[str]) -> int:
    """ISO 8601 to a Unix timestamp; a date alone means 23:59 that day in ``zone``."""
    if not text:
        return 0
    try:
        if _DATE.match(text):
            moment = datetime.combine(date.fromisoformat(text), END_OF_DAY, tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
    except ValueError:
        problems.append(f"{key} {text!r} is not an ISO 8601 date (expected YYYY-MM-DD or "
                        "YYYY-MM-DDThh:mm with an optional offset such as +01:00)")
        return 0
    return int(moment.timestamp())


def _competencies(value: object, problems: list[str]) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[object] = list(value.split(";"))
    elif isinstance(value, list):
        items = list(value)
    else:
        problems.append("competencies must be idnumbers separated by ';' (or a JSON list)")
        return ()
    refs = [str(item).strip() for item in items if str(item).strip()]
    return tuple(dict.fromkeys(refs))


def _duplicate(seen: dict[str, str], goal_id: str, path: Path,
               line: int) -> list[SourceProblem]:
    if not goal_id:
        return []
    if goal_id in seen:
        return [SourceProblem(str(path), f"goal id {goal_id} is used twice: also at "
                              f"{seen[goal_id]}", line)]
    seen[goal_id] = f"{path}:{line}"
    return []
