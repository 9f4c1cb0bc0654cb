"""The goal export reader: every problem with its file and line, before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.errors import SourceError
from sync.goals import GoalStatus, read_goals

ROOT = Path(__file__).resolve().parents[3]
HEADER = "goal_id,employee,title,description,start_date,due_date,status,manager,competencies\n"


def problems(tmp_path: Path, text: str, name: str = "goals.csv") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as info:
        read_goals([path])
    return [str(p).removeprefix(f"{path}:") for p in info.value.problems]


def test_examples_read_cleanly() -> None:
    goals = read_goals(sorted((ROOT / "examples" / "goals").glob("northwind-goals.*")))
    assert len(goals) == 10
    json_goal = next(g for g in goals if g.goal_id == "NW-2026-101")
    assert json_goal.competencies == ("WS-COMM-WRITE", "WORK-SKILLS:WS-WORK-GOALS")
    assert json_goal.descriptionformat == 1 and json_goal.line == 3
    assert next(g for g in goals if g.goal_id == "NW-2026-004").status is GoalStatus.DONE


def test_every_bad_value_is_named_with_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, HEADER
                     + "G-1,a@x.org,Lead,,2026-01-01,2026-06-30,active,,A;B\n"
                     + "G-2,b@x.org,,,2026-05-01,2026-02-01,closed,,\n"
                     + "G-1,c@x.org,Dup,,,31/12/2026,done,,\n"
                     + ",d@x.org,No id,,,,active,,\n")
    assert found == [
        "3: goal G-2: title is empty",
        "3: goal G-2: status 'closed' is not one of active, done, withdrawn",
        "3: goal G-2: due_date 2026-02-01 is before start_date 2026-05-01",
        "4: goal G-1: due_date '31/12/2026' is not an ISO 8601 date (expected YYYY-MM-DD or "
        "YYYY-MM-DDThh:mm with an optional offset such as +01:00)",
        "4: goal id G-1 is used twice: also at " + str(tmp_path / "goals.csv") + ":2",
        "5: goal ?: goal_id is empty",
    ]


def test_multi_line_cells_keep_the_line_where_the_goal_starts(tmp_path: Path) -> None:
    found = problems(tmp_path, HEADER + 'G-1,a@x.org,T,"one\ntwo\nthree",,,active,,\n'
                     + "G-2,b@x.org,T,,,,unknown,,\n")
    assert found == ["5: goal G-2: status 'unknown' is not one of active, done, withdrawn"]


def test_missing_columns_suggest_the_near_miss(tmp_path: Path) -> None:
    found = problems(tmp_path, "goal_id,employe,title,status\nG-1,a@x.org,T,active\n")
    assert found == ["1: no 'employee' column (expected columns: goal_id, employee, title, "
                     "description, start_date, due_date, status, manager, competencies); "
                     "is 'employe' meant to be it?"]


def test_json_problems_name_the_line_of_each_goal(tmp_path: Path) -> None:
    text = ('[\n  {"goal_id": "J-1", "employee": "a@x.org", "title": "T", "status": "done"},\n'
            '  {"goal_id": "J-2", "employee": "b@x.org", "title": "T",\n'
            '   "status": "active", "due_date": "tomorrow"}\n]\n')
    assert problems(tmp_path, text, "goals.json") == [
        "3: goal J-2: due_date 'tomorrow' is not an ISO 8601 date (expected YYYY-MM-DD or "
        "YYYY-MM-DDThh:mm with an optional offset such as +01:00)"]


def test_dates_semicolons_bom_and_titles(tmp_path: Path) -> None:
    path = tmp_path / "goals.csv"
    path.write_text("\ufeffGoal ID;Employee;Title;Status;Due date;Competencies\n"
                    "G-1;a@x.org;Lead;Active;2026-06-30;A; B ;A\n".replace("A; B ;A", '"A; B ;A"'),
                    encoding="utf-8")
    [goal] = read_goals([path], timezone="Europe/Berlin")
    assert goal.status is GoalStatus.ACTIVE and goal.competencies == ("A", "B")
    assert goal.due == 1782856740  # 2026-06-30 23:59 in Berlin (UTC+2)
    long_title = "x" * 101
    assert "at most 100" in problems(tmp_path, HEADER + f"G-1,a,{long_title},,,,active,,\n")[0]
