"""Coverage: uncovered competencies, unmapped courses, levels, and the four outputs."""

from __future__ import annotations

import csv
import io

from lxml import etree

from skills_map.catalogue import Catalogue
from skills_map.coverage import build_coverage, to_csv, to_json, to_svg

from .conftest import course, link


def coverage(catalogue: Catalogue):
    comps = {c.id: c for rows in catalogue.competencies.values() for c in rows}
    return build_coverage(catalogue, {101: [link(101, comps[2], 1, 3)],
                                      102: [link(102, comps[3], 2, 1)], 103: []})


def test_uncovered_competencies_and_unmapped_courses(catalogue: Catalogue):
    report = coverage(catalogue)
    assert [(c.framework, c.idnumber) for c in report.uncovered] == [
        ("OTHER", "SHARED"), ("OTHER", "SAFE-FIRE"), ("SKILLS", "COMM"), ("SKILLS", "SHARED")]
    assert [c.shortname for c in report.unmapped] == ["SAFE-120"]
    levels = {(lv.framework, lv.level): (lv.competencies, lv.covered) for lv in report.levels()}
    assert levels == {("OTHER", 1): (2, 0), ("SKILLS", 1): (2, 0), ("SKILLS", 2): (2, 2)}


def test_csv_and_json_say_the_same(catalogue: Catalogue):
    report = coverage(catalogue)
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    write = next(r for r in rows if r["id"] == "COMM-WRITE")
    assert (write["framework"], write["level"], write["linked_to"]) == ("SKILLS", "2",
                                                                        "COMM-160")
    data = to_json(report)
    assert {"course": "COMM-160", "framework": "SKILLS", "competency": "COMM-WRITE",
            "outcome": "complete"} in data["links"]
    assert data["courses_without_competencies"] == [{"shortname": "SAFE-120",
                                                     "name": "SAFE-120"}]


def test_svg_is_well_formed_and_escapes_names(catalogue: Catalogue):
    tricky = Catalogue(courses=(*catalogue.courses, course(104, "R&D <1>", fullname='"Q" & A')),
                       frameworks=catalogue.frameworks, competencies=catalogue.competencies)
    svg = to_svg(build_coverage(tricky, {}))

    root = etree.fromstring(svg.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "R&D <1>" in texts
    rects = list(root.iter("{http://www.w3.org/2000/svg}rect"))
    assert len(rects) >= 4 * 6  # one cell per course and competency, plus the legend
