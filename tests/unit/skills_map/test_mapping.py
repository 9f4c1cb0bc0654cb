"""The mapping file: every problem reported with its line and reason, before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from skills_map.catalogue import Catalogue, resolve
from skills_map.errors import MappingError
from skills_map.mapping import Outcome, read_mapping

GOOD = """\
framework: SKILLS
links:
  - course: COMM-160
    outcome: complete
    competencies:
      - COMM-WRITE
      - {idnumber: COMM-LISTEN, outcome: recommend}
  - course: C160          # the same course by idnumber
    competencies:
      - {idnumber: SAFE-FIRE, framework: OTHER}
"""


def write(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_yaml_file_gives_links_with_outcomes_frameworks_and_lines(tmp_path):
    mapping = read_mapping(write(tmp_path, GOOD))

    assert [(k.course, k.competency, k.framework, k.outcome, k.line) for k in mapping.links] == [
        ("COMM-160", "COMM-WRITE", "SKILLS", Outcome.COMPLETE, 6),
        ("COMM-160", "COMM-LISTEN", "SKILLS", Outcome.RECOMMEND, 7),
        ("C160", "SAFE-FIRE", "OTHER", Outcome.EVIDENCE, 10),
    ]


def test_yaml_problems_are_all_reported_with_their_lines(tmp_path):
    path = write(tmp_path, """\
links:
  - course: COMM-160
    competencies: [COMM-WRITE, COMM-WRITE]
  - course: COMM-220
    outcome: sometimes
    competencies: [COMM-LISTEN]
  - competencies: [X]
    colour: blue
  - course: SAFE-120
""")
    with pytest.raises(MappingError) as excinfo:
        read_mapping(path)
    found = [(p.line, p.field, p.reason) for p in excinfo.value.problems]

    assert (3, "competency", "COMM-160 -> COMM-WRITE is listed twice (first on line 3)") in found
    assert (5, "outcome", "unknown rule outcome; expected one of none, evidence, recommend, "
            "complete") in found
    assert (7, "course", "missing; expected a course shortname or idnumber") in found
    assert any(line == 8 and field == "colour" and "unknown key" in reason
               for line, field, reason in found)
    assert (9, "competencies", "expected a list of competency idnumbers") in found
    assert str(path) in str(excinfo.value) and "nothing was sent" in str(excinfo.value)


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "links:\n  - course: [unclosed\n")
    with pytest.raises(MappingError) as excinfo:
        read_mapping(path)
    assert excinfo.value.problems[0].line == 3
    assert "not valid YAML" in excinfo.value.problems[0].reason


def test_csv_links_and_problems_with_line_numbers(tmp_path):
    good = write(tmp_path, "course,competency,outcome,framework\nCOMM-160,COMM-WRITE,"
                 "complete,SKILLS\nCOMM-220,COMM-LISTEN,,\n", "map.csv")
    assert [(k.course, k.outcome, k.framework, k.line) for k in read_mapping(good).links] == [
        ("COMM-160", Outcome.COMPLETE, "SKILLS", 2), ("COMM-220", Outcome.EVIDENCE, None, 3)]

    bad = write(tmp_path, "course,competency,outcome\nCOMM-160,COMM-WRITE,always\n"
                ",COMM-LISTEN,none\nCOMM-160,COMM-WRITE\nCOMM-220,X,3\nCOMM-220,X,2\n",
                "bad.csv")
    with pytest.raises(MappingError) as excinfo:
        read_mapping(bad)
    found = [(p.line, p.field) for p in excinfo.value.problems]
    assert found == [(2, "outcome"), (3, "course"), (4, None), (6, "competency")]


def test_csv_header_must_name_course_and_competency(tmp_path):
    path = write(tmp_path, "shortname,skill\nA,B\n", "map.csv")
    with pytest.raises(MappingError) as excinfo:
        read_mapping(path)
    assert excinfo.value.problems[0].line == 1
    assert "unknown: shortname, skill" in excinfo.value.problems[0].reason


def test_resolving_finds_courses_by_shortname_or_idnumber(tmp_path, catalogue: Catalogue):
    wanted = resolve(read_mapping(write(tmp_path, GOOD)), catalogue)
    assert [(w.course, w.course_id, w.framework, w.competency_id, w.outcome) for w in wanted] == [
        ("COMM-160", 101, "SKILLS", 2, Outcome.COMPLETE),
        ("COMM-160", 101, "SKILLS", 3, Outcome.RECOMMEND),
        ("COMM-160", 101, "OTHER", 6, Outcome.EVIDENCE),
    ]


def test_unknown_ambiguous_and_same_links_are_reported_before_anything_is_sent(
        tmp_path, catalogue: Catalogue):
    path = write(tmp_path, """\
links:
  - course: NOPE-1
    competencies: [COMM-WRITE]
  - course: COMM-220
    competencies: [NO-SUCH, SHARED]
  - course: COMM-160
    competencies: [COMM-WRITE]
  - course: C160
    competencies: [COMM-WRITE]
""")
    with pytest.raises(MappingError) as excinfo:
        resolve(read_mapping(path), catalogue)
    found = [(p.line, p.reason) for p in excinfo.value.problems]
    assert found == [
        (3, "no course with shortname or idnumber 'NOPE-1' in the LMS"),
        (5, "no competency with idnumber 'NO-SUCH' in any framework of the LMS"),
        (5, "'SHARED' is in several frameworks (OTHER, SKILLS); add `framework:`"),
        (9, "COMM-160 -> COMM-WRITE is listed twice (first on line 7)"),
    ]
