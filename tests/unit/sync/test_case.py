"""CASE JSON packages: every shared sample reads, the mapping, schema-valid output, round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from sync.model import DEFAULT_SCALE, Competency, Framework, Scale
from sync.sources import dumps_case, read_case, read_moodle_csv, read_source, write_case
from sync.sources.case import parse_case, shorten
from tests.conftest import SAMPLES

CASE = SAMPLES / "case"
PACKAGES = sorted(p for p in CASE.glob("*.json") if "schema" not in p.name)
OPENSALT = CASE / "opensalt-framework-20c5134f-423d-4097-a971-3dd5152bf507.json"
EXPECTED = {  # file: (competencies, competencies per level, cross-reference pairs)
    "SequenceNumberFramework.json": (2, [2], 0),
    "SmartLevelFramework.json": (14, [2, 12], 0),
    "Utf8TestFramework.json": (1, [1], 0),
    OPENSALT.name: (16, [2, 6, 8], 2),
}


def _validator() -> jsonschema.Draft7Validator:
    schema = json.loads((CASE / "case-v1p0-cfpackage-schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def test_the_samples_are_all_covered() -> None:
    assert sorted(p.name for p in PACKAGES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: p.name)
def test_every_sample_reads(path: Path) -> None:
    framework = read_case(path)
    count, levels, pairs = EXPECTED[path.name]
    assert len(framework.competencies) == count
    assert [len(level) for level in framework.levels()] == levels
    assert len(framework.related_pairs()) == pairs
    assert framework.scale == DEFAULT_SCALE
    assert read_source(path) == [framework]


def test_opensalt_mapping() -> None:
    framework = read_case(OPENSALT)
    assert framework.idnumber == "20c5134f-423d-4097-a971-3dd5152bf507"
    assert framework.shortname == "What Standards Could Be"
    assert [c.idnumber for c in framework.children_of(None)] == [
        "CCSS.Math.Content.6.RP.A",
        "CCSS.Math.Content.7.RP.A",
    ]
    item = framework.get("CCSS.Math.Content.6.RP.A.3")
    assert item.parent == "CCSS.Math.Content.6.RP.A"
    assert len(item.shortname) <= 100 and item.shortname.endswith("…")
    assert item.description.startswith("Use ratio and rate reasoning to solve real-world")
    assert item.descriptionformat == 4
    assert [c.idnumber for c in framework.children_of(item.idnumber)] == [
        f"CCSS.Math.Content.6.RP.A.3{x}" for x in "abcd"
    ]
    short = framework.get("CCSS.Math.Content.7.RP.A.2")
    assert (short.shortname, short.description) == (
        "Recognize and represent proportional relationships between quantities.",
        "",
    )
    # precedes between two items is kept; exactMatchOf to other frameworks is not
    assert framework.related_pairs() == {
        ("CCSS.Math.Content.6.RP.A.1", "CCSS.Math.Content.6.RP.A.2"),
        ("CCSS.Math.Content.6.RP.A.3", "CCSS.Math.Content.7.RP.A.3"),
    }


def test_sequence_numbers_order_siblings() -> None:
    framework = read_case(CASE / "SequenceNumberFramework.json")
    assert [c.idnumber for c in framework.children_of(None)] == ["SNT.2", "SNT.1"]


def test_identifier_is_the_idnumber_without_human_coding_scheme() -> None:
    framework = read_case(CASE / "SmartLevelFramework.json")
    assert framework.get("00000000-0000-0000-0000-000000000003").shortname == "Item 1.1"
    assert read_case(CASE / "Utf8TestFramework.json").shortname == "UTF8 \U0001d451 Test"


def test_a_caller_chosen_scale() -> None:
    scale = Scale(("Low", "High"), default=1, proficient=(2,))
    assert read_case(OPENSALT, scale=scale).scale == scale


@pytest.mark.parametrize(
    "path", [*PACKAGES, SAMPLES / "oecd-core-competencies.moodle.csv"], ids=lambda p: p.name
)
def test_written_packages_are_schema_valid(path: Path) -> None:
    framework = read_source(path)[0]
    package = json.loads(dumps_case(framework))
    errors = [e.message for e in _validator().iter_errors(package)]
    assert errors == []


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: p.name)
def test_round_trip(path: Path, tmp_path: Path) -> None:
    framework = read_case(path)
    target = tmp_path / "out.json"
    write_case(framework, target, changed=datetime(2026, 1, 2, tzinfo=UTC))
    assert read_case(target) == framework


def test_writer_is_deterministic_and_keeps_the_tree() -> None:
    oecd = read_moodle_csv(SAMPLES / "oecd-core-competencies.moodle.csv")
    stamp = datetime(2026, 1, 2, tzinfo=UTC)
    text = dumps_case(oecd, changed=stamp, base_uri="https://case.example.org/ims/case/v1p0")
    assert text == dumps_case(
        oecd, changed=stamp, base_uri="https://case.example.org/ims/case/v1p0"
    )
    package = json.loads(text)
    assert package["CFDocument"]["uri"].startswith(
        "https://case.example.org/ims/case/v1p0/CFDocuments/"
    )
    back = parse_case(text, "oecd.json")
    assert [c.idnumber for c in back.iter_tree()] == [c.idnumber for c in oecd.iter_tree()]
    assert back.related_pairs() == oecd.related_pairs()
    assert back.taxonomies == oecd.taxonomies
    assert back.get("delivery").description == "Achieving Results"
    assert "clusters.\n• The delivery-related competencies\n• The interpersonal" in (
        back.description
    )


def test_hidden_framework_is_deprecated_and_back() -> None:
    framework = Framework("FW", "Hidden", visible=False, competencies=(Competency("A", "A"),))
    package = json.loads(dumps_case(framework))
    assert package["CFDocument"]["adoptionStatus"] == "Deprecated"
    assert parse_case(json.dumps(package), "x.json").visible is False


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("word " * 30) == ("word " * 19).strip() + "…"
    assert len(shorten("x" * 150)) == 100
