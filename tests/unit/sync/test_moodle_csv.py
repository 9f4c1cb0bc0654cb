"""Moodle's tool_lpimportcsv CSV: the OECD sample, the exporter's exact shape, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.model import RULE_POINTS, Framework, Scale
from sync.sources import dumps_moodle_csv, read_moodle_csv, read_source, write_moodle_csv
from sync.sources.moodle_csv import HEADER, parse_moodle_csv
from tests.conftest import SAMPLES

OECD = SAMPLES / "oecd-core-competencies.moodle.csv"


@pytest.fixture(scope="module")
def oecd() -> Framework:
    return read_moodle_csv(OECD)


def test_oecd_framework_row(oecd: Framework) -> None:
    assert (oecd.idnumber, oecd.shortname, oecd.descriptionformat) == ("OECD-CORE", "OECD", 1)
    assert oecd.description.startswith("<p>The Core Competencies summarise")
    assert "\n<br>• The strategic competencies</p>" in oecd.description
    assert oecd.scale == Scale(("Not yet competent", "Competent"), 2, default=2, proficient=(2,))
    assert oecd.taxonomies == ("competency",) * 4
    assert oecd.location.line == 2


def test_oecd_competencies_and_tree(oecd: Framework) -> None:
    assert len(oecd.competencies) == 64
    assert [len(level) for level in oecd.levels()] == [2, 8, 15, 39]
    assert [c.idnumber for c in oecd.children_of(None)] == ["levels", "competencies"]
    assert [c.shortname for c in oecd.children_of("competencies")] == [
        "Delivery-related",
        "Interpersonal",
        "Strategic",
    ]
    assert oecd.get("analytical-thinking").parent == "delivery"
    assert oecd.get("DR-AT1").shortname.startswith("Distinguishes between critical and")
    assert oecd.depth("S-ST-1") == 4


def test_oecd_html_descriptions_keep_line_breaks(oecd: Framework) -> None:
    teamwork = oecd.get("teamwork")
    assert teamwork.description.startswith("<p>Teamwork and Team Leadership implies\n")
    assert teamwork.description.endswith("</p>")
    assert teamwork.descriptionformat == 1
    assert (
        oecd.get("I-OK-3").shortname
        == "Knows and respects the Organisation\u2019s Code of Conduct and values."
    )


def test_oecd_cross_references(oecd: Framework) -> None:
    level1 = oecd.get("level-1")
    assert len(level1.related) == 39
    assert level1.related[:3] == ("S-DT-1", "S-DT-2", "S-OA-1")
    assert oecd.get("DR-AT1").related == ("level-1",)
    assert len(oecd.related_pairs()) == 39
    assert all(c.rule_type is None and c.rule_config is None for c in oecd.competencies)


def test_oecd_locations_point_at_record_start_lines(oecd: Framework) -> None:
    text = OECD.read_text(encoding="utf-8").splitlines()
    for competency in (oecd.get("level-1"), oecd.get("teamwork"), oecd.get("S-ST-1")):
        line = competency.location.line
        assert line is not None
        assert f",{competency.idnumber}," in text[line - 1]


def test_writer_reproduces_moodles_export_byte_for_byte(oecd: Framework) -> None:
    assert dumps_moodle_csv(oecd).encode("utf-8") == OECD.read_bytes()


def test_round_trip_through_a_file(oecd: Framework, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_moodle_csv(oecd, target)
    assert read_moodle_csv(target) == oecd
    assert read_source(target) == [oecd]


def test_bom_is_accepted(tmp_path: Path) -> None:
    target = tmp_path / "bom.csv"
    target.write_bytes(b"\xef\xbb\xbf" + OECD.read_bytes())
    assert read_moodle_csv(target) == read_moodle_csv(OECD)


def _csv(*rows: tuple[str, ...]) -> str:
    from sync.sources.moodle_csv import _php_csv_line

    return "".join(_php_csv_line(row) for row in (HEADER, *rows))


FRAMEWORK_ROW = (
    "",
    "FW",
    "Framework",
    "",
    "1",
    "No,Yes",
    '[{"scaleid":"9"},{"id":1,"scaledefault":1,"proficient":0},'
    '{"id":2,"scaledefault":0,"proficient":1}]',
    "",
    "",
    "",
    "",
    "",
    "1",
    "domain,skill",
)


def test_points_rule_ids_become_idnumbers_and_back() -> None:
    config = '{"base":{"points":1},"competencies":[{"id":11,"points":1,"required":false}]}'
    text = _csv(
        FRAMEWORK_ROW,
        ("", "P", "Parent", "", "1", "", "", RULE_POINTS, "2", config, "", "10", "", ""),
        (
            "P",
            "C,1",
            "Child",
            "",
            "1",
            "A,B,C",
            '[{"scaleid":"4"},{"id":3,"scaledefault":1,"proficient":1}]',
            "",
            "0",
            "null",
            "P",
            "11",
            "",
            "",
        ),
    )
    framework = parse_moodle_csv(text, "rules.csv")
    parent = framework.get("P")
    assert parent.rule_outcome == 2
    assert json.loads(parent.rule_config or "") == {
        "base": {"points": 1},
        "competencies": [{"id": "C,1", "points": 1, "required": 0}],
    }
    child = framework.get("C,1")
    assert child.scale == Scale(("A", "B", "C"), 4, default=3, proficient=(3,))
    written = dumps_moodle_csv(framework)
    assert '"{""base"":{""points"":1},""competencies"":[{""id"":2,' in written
    assert ",P,2,," in written
    assert parse_moodle_csv(written, "again.csv") == framework


def test_related_idnumbers_with_commas_are_escaped() -> None:
    text = _csv(
        FRAMEWORK_ROW,
        ("", "A,1", "A", "", "1", "", "", "", "0", "null", "B", "1", "", ""),
        ("", "B", "B", "", "1", "", "", "", "0", "null", "A%2C1", "2", "", ""),
    )
    framework = parse_moodle_csv(text, "x.csv")
    assert framework.get("B").related == ("A,1",)
    assert "A%2C1" in dumps_moodle_csv(framework)


def test_php_quoting_rules() -> None:
    from sync.sources.moodle_csv import _php_csv_line

    assert _php_csv_line(("plain", "two words", 'say "hi"', "a,b", "", "x\\y", 'c\\"d')) == (
        'plain,"two words","say ""hi""","a,b",,"x\\y","c\\"d"\n'
    )
