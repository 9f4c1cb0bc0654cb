"""read_source: formats are told apart by content, and can be named explicitly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sync.errors import SourceError
from sync.sources import read_source
from sync.sources.text import detect_format, normalise_format
from tests.conftest import REPO, SAMPLES

OECD = SAMPLES / "oecd-core-competencies.moodle.csv"
CASE = SAMPLES / "case" / "SmartLevelFramework.json"
YAML = REPO / "examples" / "frameworks" / "leadership-feedback.yaml"


@pytest.mark.parametrize(
    ("source", "expected"), [(OECD, "moodle-csv"), (CASE, "case"), (YAML, "yaml")]
)
def test_detects_by_content_not_extension(source: Path, expected: str, tmp_path: Path) -> None:
    disguised = tmp_path / "framework.txt"
    shutil.copy(source, disguised)
    assert detect_format(disguised.read_text(encoding="utf-8-sig")) == expected
    [framework] = read_source(disguised)
    assert framework.competencies


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    [framework] = read_source(OECD, "csv")
    assert framework.idnumber == "OECD-CORE"
    with pytest.raises(SourceError, match=r"malformed YAML|unknown key|must be"):
        read_source(OECD, "yaml")
    with pytest.raises(SourceError, match="malformed JSON"):
        read_source(YAML, format="case")


def test_unknown_format_names_and_contents() -> None:
    assert normalise_format("JSON") == "case"
    with pytest.raises(ValueError, match="unknown source format 'xml'"):
        normalise_format("xml")
    assert detect_format("just some words\n") is None


def test_unrecognised_content_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n- milk\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_source(path)
    assert "format not recognised" in str(caught.value)
    assert caught.value.problems[0].file == str(path)


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read the file"):
        read_source(tmp_path / "absent.yaml")
