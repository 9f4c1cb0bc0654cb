"""Accepted links are added to the mapping file without losing what the admin wrote."""

from __future__ import annotations

import pytest

from skills_map.errors import MappingError
from skills_map.mapfile import NewLink, add_links
from skills_map.mapping import Outcome, read_mapping

NEW = [NewLink("COMM-160", "FW", "WRITE", Outcome.COMPLETE)]


def test_yaml_with_links_last_keeps_its_comments(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("# ours, keep me\nlinks:\n  # a note\n  - course: A\n"
                    "    competencies: [X]   # why\n")
    add_links(path, NEW)

    text = path.read_text()
    assert "# ours, keep me" in text and "# a note" in text and "# why" in text
    links = read_mapping(path).links
    assert [(k.course, k.framework, k.competency, k.outcome) for k in links][-1] == (
        "COMM-160", "FW", "WRITE", Outcome.COMPLETE)


def test_a_missing_file_is_created_and_csv_gets_rows(tmp_path):
    yaml_path = tmp_path / "new.yaml"
    add_links(yaml_path, NEW)
    assert read_mapping(yaml_path).links[0].competency == "WRITE"

    csv_path = tmp_path / "map.csv"
    csv_path.write_text("course,competency\nA,X\n")
    with pytest.raises(MappingError):  # header has no outcome/framework columns
        add_links(csv_path, NEW)
    assert csv_path.read_text() == "course,competency\nA,X\n"  # left unchanged

    fresh = tmp_path / "fresh.csv"
    add_links(fresh, NEW)
    add_links(fresh, [NewLink("B", "FW", "Y", Outcome.EVIDENCE)])
    assert [k.course for k in read_mapping(fresh).links] == ["COMM-160", "B"]


def test_other_yaml_layouts_are_rewritten_and_still_read(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("links: []\nframework: FW\n")
    add_links(path, NEW)
    assert [k.competency for k in read_mapping(path).links] == ["WRITE"]
