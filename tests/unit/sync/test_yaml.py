"""lms-sidecar's YAML format: the example file, the schema's features, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.model import RULE_ALL, RULE_POINTS, Framework, Scale
from sync.sources import dumps_yaml, read_moodle_csv, read_source, read_yaml, write_yaml
from sync.sources.yaml_reader import parse_yaml
from tests.conftest import REPO, SAMPLES

EXAMPLE = REPO / "examples" / "frameworks" / "leadership-feedback.yaml"


@pytest.fixture(scope="module")
def example() -> Framework:
    [framework] = read_yaml(EXAMPLE)
    return framework


def test_example_framework(example: Framework) -> None:
    assert (example.idnumber, example.shortname) == ("LEAD-FB", "Leadership and feedback")
    assert len(example.competencies) == 15
    assert [len(level) for level in example.levels()] == [3, 9, 3]
    assert example.taxonomies == ("domain", "competency", "behaviour")
    assert example.scale == Scale(("Not yet competent", "Competent"), 2, default=1, proficient=(2,))
    assert (
        example.description == "<p>How our people leaders give direction, give and ask for "
        "feedback,\nand grow their teams.</p>\n"
    )


def test_example_nesting_parent_references_and_order(example: Framework) -> None:
    assert example.get("LF-FEEDBACK-GIVE-2").parent == "LF-FEEDBACK-GIVE"
    assert [c.idnumber for c in example.children_of("LF-GROWTH")] == [
        "LF-LISTEN",
        "LF-COACH",
        "LF-STRETCH",
    ]
    assert example.get("LF-FEEDBACK-ASK").related == ("LF-LISTEN",)
    assert example.get("LF-FEEDBACK-RECEIVE").descriptionformat == 2
    assert example.get("LF-GOALS").location.line is not None


def test_example_rules(example: Framework) -> None:
    feedback = example.get("LF-FEEDBACK")
    assert (feedback.rule_type, feedback.rule_outcome, feedback.rule_config) == (RULE_ALL, 1, None)
    give = example.get("LF-FEEDBACK-GIVE")
    assert (give.rule_type, give.rule_outcome) == (RULE_POINTS, 2)
    assert json.loads(give.rule_config or "") == {
        "base": {"points": 2},
        "competencies": [
            {"id": "LF-FEEDBACK-GIVE-1", "points": 1, "required": 1},
            {"id": "LF-FEEDBACK-GIVE-2", "points": 1, "required": 0},
            {"id": "LF-FEEDBACK-GIVE-3", "points": 1, "required": 0},
        ],
    }


def test_round_trip_example(example: Framework, tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    write_yaml(example, target)
    assert read_yaml(target) == [example]
    assert read_source(target) == [example]


def test_round_trip_oecd_through_yaml() -> None:
    oecd = read_moodle_csv(SAMPLES / "oecd-core-competencies.moodle.csv")
    text = dumps_yaml(oecd)
    assert "description: |-\n  <p>The Core Competencies" in text
    assert parse_yaml(text, "oecd.yaml") == [oecd]


def test_several_frameworks_in_one_file(example: Framework) -> None:
    other = Framework("OTHER", "Other", scale=example.scale)
    text = dumps_yaml([example, other])
    assert text.startswith("frameworks:\n")
    assert parse_yaml(text, "two.yaml") == [example, other]


def test_scale_by_position_and_id_only_and_raw_rule_config() -> None:
    text = """
idnumber: 1001
shortname: Numbers
description_format: markdown
visible: false
scale: {moodle_id: 7, default: 1, proficient: [2, 3]}
competencies:
  - idnumber: A
    shortname: A
    rule: {type: all, outcome: recommend}
    scale: {values: [x, y], default: 2, proficient: y}
  - idnumber: B
    parent: A
    shortname: B
"""
    [framework] = parse_yaml(text, "n.yaml")
    assert framework.idnumber == "1001" and framework.visible is False
    assert framework.descriptionformat == 4
    assert framework.scale == Scale((), 7, default=1, proficient=(2, 3))
    assert framework.get("A").scale == Scale(("x", "y"), None, default=2, proficient=(2,))
    assert framework.get("A").rule_outcome == 3
    assert parse_yaml(dumps_yaml(framework), "again.yaml") == [framework]


def test_the_readme_example_is_valid() -> None:
    readme = (REPO / "sync" / "sources" / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    [framework] = parse_yaml(block, "README.md")
    assert framework.get("LF-LISTEN").parent == "LF-GROWTH"
    assert framework.related_pairs() == {("LF-FEEDBACK-ASK", "LF-LISTEN")}
