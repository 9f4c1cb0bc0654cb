"""Bad sources: every problem is reported at once, with file, line (or CASE item) and reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.errors import SourceError, SourceProblem
from sync.sources import read_source
from sync.sources.moodle_csv import HEADER, _php_csv_line

SCALE = (
    '[{"scaleid":"2"},{"id":1,"scaledefault":1,"proficient":0},'
    '{"id":2,"scaledefault":0,"proficient":1}]'
)


def _csv(*rows: tuple[str, ...], scale: str = SCALE, values: str = "No,Yes") -> str:
    framework = ("", "FW", "Framework", "", "1", values, scale, "", "", "", "", "", "1", "")
    return "".join(_php_csv_line(r) for r in (HEADER, framework, *rows))


def _row(parent: str, idnumber: str, name: str = "Name", **extra: str) -> tuple[str, ...]:
    row = [parent, idnumber, name, "", "1", "", "", "", "0", "null", "", "", "", ""]
    for index, value in extra.items():
        row[int(index.lstrip("c"))] = value
    return tuple(row)


YAML_HEAD = """idnumber: FW
shortname: Framework
scale: {values: [No, Yes], default: No, proficient: [Yes]}
competencies:
"""


def _read_problems(tmp_path: Path, name: str, content: str | bytes) -> tuple[Path, SourceError]:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    with pytest.raises(SourceError) as caught:
        read_source(path)
    return path, caught.value


CASES: list[tuple[str, str, str | bytes, int | None, str]] = [
    (
        "csv-duplicate",
        "f.csv",
        _csv(_row("", "A"), _row("", "A")),
        4,
        "duplicate idnumber 'A' (first used at",
    ),
    (
        "csv-unknown-parent",
        "f.csv",
        _csv(_row("", "A"), _row("NOPE", "B")),
        4,
        "parent 'NOPE' is not in the framework",
    ),
    ("csv-cycle", "f.csv", _csv(_row("B", "A"), _row("A", "B")), 3, "parents form a cycle"),
    ("csv-self-parent", "f.csv", _csv(_row("A", "A")), 3, "parents form a cycle: A -> A"),
    ("csv-empty-name", "f.csv", _csv(_row("", "A", "")), 3, "competency name is empty"),
    (
        "csv-long-idnumber",
        "f.csv",
        _csv(_row("", "X" * 101)),
        3,
        "idnumber is 101 characters long; Moodle's limit is 100",
    ),
    ("csv-html-name", "f.csv", _csv(_row("", "A", "<b>Bold</b>")), 3, "HTML tags"),
    ("csv-unclosed-quote", "f.csv", _csv(_row("", "A")) + '"B,oops\n', 4, "malformed CSV"),
    (
        "csv-columns",
        "f.csv",
        _csv(_row("", "A")) + "x,y,z\n",
        4,
        "expected Moodle's 14 columns, found 3",
    ),
    (
        "csv-no-default",
        "f.csv",
        _csv(scale='[{"scaleid":"2"},{"id":2,"proficient":1}]'),
        2,
        "no scale value is marked as the default",
    ),
    (
        "csv-no-proficient",
        "f.csv",
        _csv(scale='[{"scaleid":"2"},{"id":1,"scaledefault":1}]'),
        2,
        "no scale value is marked as proficient",
    ),
    (
        "csv-out-of-range",
        "f.csv",
        _csv(scale='[{"scaleid":"2"},{"id":1,"scaledefault":1},{"id":5,"proficient":1}]'),
        2,
        "proficient value(s) 5 out of range 1..2",
    ),
    ("csv-bad-scale-json", "f.csv", _csv(scale="not json"), 2, "scale configuration is not JSON"),
    ("csv-no-scale", "f.csv", _csv(scale="", values=""), 2, "the framework has no scale"),
    ("csv-bad-format", "f.csv", _csv(_row("", "A", c4="3")), 3, "description format 3"),
    (
        "csv-bad-outcome",
        "f.csv",
        _csv(_row("", "A", c8="x")),
        3,
        "rule outcome 'x' is not a whole number",
    ),
    ("csv-bad-rule", "f.csv", _csv(_row("", "A", c7="my\\rule")), 3, "rule type 'my\\\\rule'"),
    (
        "csv-unknown-related",
        "f.csv",
        _csv(_row("", "A", c10="GHOST")),
        3,
        "cross-referenced competency 'GHOST' is not in the framework",
    ),
    (
        "csv-no-framework-row",
        "f.csv",
        "".join(_php_csv_line(r) for r in (HEADER, _row("", "A"))),
        None,
        'no row has "Is framework" set to 1',
    ),
    (
        "utf8",
        "f.csv",
        _csv(_row("", "A")).encode("utf-8").replace(b"Name", b"N\xe4me"),
        3,
        "byte 0xe4 at offset",
    ),
    (
        "yaml-malformed",
        "f.yaml",
        YAML_HEAD + "  - idnumber: [unclosed\n",
        6,
        "(while parsing a flow sequence started on line 5)",
    ),
    (
        "yaml-cycle",
        "f.yaml",
        YAML_HEAD + "  - {idnumber: A, shortname: A, parent: B}\n"
        "  - {idnumber: B, shortname: B, parent: A}\n",
        5,
        "parents form a cycle",
    ),
    (
        "yaml-long-name",
        "f.yaml",
        YAML_HEAD + f"  - {{idnumber: A, shortname: {'n' * 120}}}\n",
        5,
        "competency name is 120 characters long; Moodle's limit is 100",
    ),
    (
        "yaml-unknown-key",
        "f.yaml",
        YAML_HEAD + "  - idnumber: A\n    shortname: A\n    shortnme: B\n",
        7,
        "unknown key 'shortnme' in a competency",
    ),
    (
        "yaml-duplicate-key",
        "f.yaml",
        YAML_HEAD + "  - idnumber: A\n    shortname: A\n    idnumber: B\n",
        7,
        "key 'idnumber' appears twice",
    ),
    (
        "yaml-unknown-scale-value",
        "f.yaml",
        YAML_HEAD.replace("proficient: [Yes]", "proficient: [Maybe]"),
        3,
        "'Maybe' is not one of the scale's values",
    ),
    (
        "yaml-taxonomy",
        "f.yaml",
        YAML_HEAD.replace("competencies:", "taxonomies: [skill, sklil]\ncompetencies:"),
        1,
        "unknown taxonomy term(s) 'sklil'",
    ),
    (
        "yaml-points-rule",
        "f.yaml",
        YAML_HEAD + "  - idnumber: A\n    shortname: A\n    rule: {type: points, points: 1, "
        "competencies: [{idnumber: B}]}\n  - {idnumber: B, shortname: B}\n",
        5,
        "points rule lists 'B', which are not its children",
    ),
    ("yaml-empty", "f.yaml", "# nothing here\nidnumber:\n", 2, "framework idnumber is empty"),
    (
        "json-malformed",
        "f.json",
        '{"CFDocument": {"identifier": "x",\n "title": }\n}',
        2,
        "malformed JSON",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_names_file_line_and_reason(
    tmp_path: Path, name: str, content: str | bytes, line: int | None, reason: str
) -> None:
    path, error = _read_problems(tmp_path, name, content)
    matching = [p for p in error.problems if reason in p.reason]
    assert matching, f"no problem mentions {reason!r}; got: {error}"
    assert matching[0].file == str(path)
    assert matching[0].line == line
    where = f"{path}:{line}" if line is not None else str(path)
    assert f"{where}: " in str(error)
    assert "nothing was read" in str(error)


def _case_package(items: list[dict[str, object]], associations: list[tuple[str, str, str]]) -> str:
    doc = {
        "identifier": "d0000000-0000-0000-0000-000000000000",
        "uri": "urn:x",
        "creator": "t",
        "title": "Doc",
        "lastChangeDateTime": "2020-01-01T00:00:00+00:00",
    }

    def node(identifier: str) -> dict[str, str]:
        return {"identifier": identifier, "uri": f"urn:{identifier}", "title": identifier}

    return json.dumps(
        {
            "CFDocument": doc,
            "CFItems": items,
            "CFAssociations": [
                {
                    "identifier": f"a{n}",
                    "uri": "urn:a",
                    "associationType": kind,
                    "originNodeURI": node(origin),
                    "destinationNodeURI": node(target),
                    "lastChangeDateTime": "2020-01-01T00:00:00+00:00",
                }
                for n, (kind, origin, target) in enumerate(associations)
            ],
        }
    )


DOC = "d0000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("items", "associations", "item", "reason"),
    [
        (
            [{"identifier": "i1", "fullStatement": "One"}],
            [("isChildOf", "i1", "elsewhere")],
            "i1",
            "isChildOf names elsewhere, which is neither the CFDocument nor an item",
        ),
        (
            [
                {"identifier": "i1", "fullStatement": "One"},
                {"identifier": "i2", "fullStatement": "Two"},
                {"identifier": "i3", "fullStatement": "Three"},
            ],
            [("isChildOf", "i3", "i1"), ("isChildOf", "i3", "i2")],
            "i3",
            "Moodle holds one parent per competency",
        ),
        ([{"identifier": "i1", "fullStatement": ""}], [], "i1", "the item has no fullStatement"),
        (
            [
                {"identifier": "i1", "fullStatement": "One", "humanCodingScheme": "X"},
                {"identifier": "i2", "fullStatement": "Two", "humanCodingScheme": "X"},
            ],
            [],
            "i2",
            "duplicate idnumber 'X'",
        ),
        (
            [{"identifier": "i1", "fullStatement": "One", "abbreviatedStatement": "a" * 101}],
            [],
            "i1",
            "competency name is 101 characters long",
        ),
    ],
    ids=["unknown-parent", "two-parents", "no-statement", "duplicate-code", "long-name"],
)
def test_bad_case_items_are_named(
    tmp_path: Path,
    items: list[dict[str, object]],
    associations: list[tuple[str, str, str]],
    item: str,
    reason: str,
) -> None:
    path, error = _read_problems(tmp_path, "p.json", _case_package(items, associations))
    matching = [p for p in error.problems if reason in p.reason]
    assert matching, str(error)
    assert (matching[0].file, matching[0].item) == (str(path), item)
    assert f"[item {item}]: " in str(error)


def test_all_problems_are_listed_together(tmp_path: Path) -> None:
    content = _csv(
        _row("", "A"),
        _row("", "A"),
        _row("MISSING", "B"),
        _row("", "", ""),
        scale='[{"scaleid":"2"}]',
    )
    _, error = _read_problems(tmp_path, "many.csv", content)
    lines = sorted(p.line or 0 for p in error.problems)
    assert lines == [2, 2, 4, 5, 6, 6]
    assert str(error).count("\n") == len(error.problems)
    assert "6 problems found" in str(error)


def test_problem_text_is_readable() -> None:
    problem = SourceProblem("f.json", "bad", item="abc")
    assert str(problem) == "f.json [item abc]: bad"
    assert str(SourceProblem("f.yaml", "bad", 3)) == "f.yaml:3: bad"
