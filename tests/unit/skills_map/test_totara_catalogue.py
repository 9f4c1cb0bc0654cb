"""Totara's catalogue for suggestions and coverage: competencies from the sources, site ids
by name path, unresolved ones kept with the reason, links read per found competency."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.moodle import models as m
from connector.totara.legacy import LinkedCourse, LinkedCourses
from skills_map.catalogue import Catalogue
from skills_map.coverage import build_coverage, to_csv, to_json
from skills_map.namepath import ExportedCompetency, Resolution
from skills_map.suggest import rank
from skills_map.totara_links import NO_TAGS, NOT_EXPORTED, TotaraCatalogue
from sync.model import Competency, Framework

SOURCE = Framework(idnumber="WS", shortname="Workplace skills", competencies=(
    Competency("WS-COMM", "Communication", "<p>Talking and writing</p>"),
    Competency("WS-WRITE", "Writes clearly", "Emails and reports", parent="WS-COMM"),
    Competency("WS-LISTEN", "Listens actively", parent="WS-COMM"),
    Competency("WS-NEW", "Not imported yet"),
))
EXPORTED = [ExportedCompetency("WS", "Workplace skills", "WS-COMM", "Communication"),
            ExportedCompetency("WS", "Workplace skills", "WS-WRITE", "Writes clearly",
                               "WS-COMM"),
            ExportedCompetency("WS", "Workplace skills", "WS-LISTEN", "Listens actively",
                               "WS-COMM")]


@dataclass
class FakeClient:
    links: dict[int, list[tuple[int, bool]]]
    calls: list[tuple[str, object]] = field(default_factory=list)

    def courses_by_field(self) -> list[m.Course]:
        return [m.Course(id=7, shortname="WRITE-1", fullname="Business writing",
                         summary="<p>Clear emails and reports</p>"),
                m.Course(id=8, shortname="OTHER", fullname="Other")]

    def map(self, endpoint: Any, params: Sequence[Any]) -> list[LinkedCourses]:
        self.calls += [(endpoint.function, p.competency_id) for p in params]
        return [LinkedCourses(items=[LinkedCourse(id=c, mandatory=mand)
                                     for c, mand in self.links.get(p.competency_id, [])])
                for p in params]


@dataclass
class FakeSite:
    client: FakeClient
    resolved: list[Sequence[ExportedCompetency]] = field(default_factory=list)

    def resolve(self, exported: Sequence[ExportedCompetency]) -> Resolution:
        self.resolved.append(exported)
        return Resolution(ids={("WS", "WS-COMM"): 31, ("WS", "WS-WRITE"): 32},
                          problems={("WS", "WS-LISTEN"): "no competency named 'Listens "
                                    "actively' under 'WS-COMM' (renamed?)"})


def source(links: dict[int, list[tuple[int, bool]]] | None = None,
           exported: list[ExportedCompetency] | None = None) -> tuple[TotaraCatalogue, FakeSite]:
    site = FakeSite(FakeClient(links or {}))
    rows = EXPORTED if exported is None else exported
    return TotaraCatalogue(site, lambda: [SOURCE], lambda: rows), site  # type: ignore[arg-type]


def test_competencies_come_from_the_sources_with_site_ids_and_reasons_for_the_rest():
    catalogue, _ = source()
    read = catalogue.catalogue(with_tags=True)
    rows = {c.idnumber: c for c in read.competencies["WS"]}
    assert (rows["WS-COMM"].id, rows["WS-WRITE"].id) == (31, 32)
    assert rows["WS-WRITE"].parentid == 31 and rows["WS-WRITE"].path == "/0/31/"
    assert rows["WS-LISTEN"].id < 0 and rows["WS-NEW"].id < 0
    assert rows["WS-LISTEN"].sortorder == 2 and rows["WS-WRITE"].description
    assert read.unresolved == {("WS", "WS-LISTEN"): "no competency named 'Listens actively' "
                               "under 'WS-COMM' (renamed?)", ("WS", "WS-NEW"): NOT_EXPORTED}
    assert read.notes == (NO_TAGS,)
    assert catalogue.catalogue().notes == ()
    assert [c.shortname for c in read.courses] == ["WRITE-1", "OTHER"]


def test_links_are_read_only_for_found_competencies_and_mandatory_shows_as_complete():
    catalogue, site = source({32: [(7, True)], 31: [(8, False)]})
    read = catalogue.catalogue()
    links = catalogue.links(read)
    assert site.client.calls == [("totara_competency_get_linked_courses", 31),
                                 ("totara_competency_get_linked_courses", 32)]
    assert [(r.competency.idnumber, r.coursecompetency.ruleoutcome) for r in links[7]] == [
        ("WS-WRITE", 3)]
    assert [(r.competency.idnumber, r.coursecompetency.ruleoutcome) for r in links[8]] == [
        ("WS-COMM", 1)]


def test_coverage_keeps_unresolved_competencies_apart_from_uncovered_ones():
    catalogue, _ = source({32: [(7, True)]})
    read = catalogue.catalogue()
    report = build_coverage(read, catalogue.links(read))
    assert [c.idnumber for c in report.uncovered] == ["WS-COMM"]
    assert [(c.idnumber, c.level) for c in report.unresolved] == [("WS-LISTEN", 2),
                                                                  ("WS-NEW", 1)]
    data = to_json(report)
    assert data["unresolved_competencies"][1] == {
        "framework": "WS", "idnumber": "WS-NEW", "name": "Not imported yet", "level": 1,
        "reason": NOT_EXPORTED}
    assert [c["shortname"] for c in data["courses_without_competencies"]] == ["OTHER"]
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(to_csv(report)))}
    assert rows["WS-WRITE"]["linked_to"] == "WRITE-1" and rows["WS-WRITE"]["unresolved"] == ""
    assert rows["WS-NEW"]["unresolved"] == NOT_EXPORTED
    levels = {lv.level: (lv.competencies, lv.covered) for lv in report.levels()}
    assert levels == {1: (2, 0), 2: (2, 1)}


def test_nothing_exported_asks_the_site_nothing_and_every_competency_says_why():
    catalogue, site = source(exported=[])
    read = catalogue.catalogue()
    assert site.resolved == [] and set(read.unresolved.values()) == {NOT_EXPORTED}
    assert catalogue.links(read) == {7: [], 8: []} and site.client.calls == []


def test_suggestions_rank_source_names_and_descriptions_against_course_summaries():
    catalogue, _ = source()
    read: Catalogue = catalogue.catalogue(frameworks=["WS"])
    best = rank(read.course_docs(), read.competency_docs()).by_course["WRITE-1"][0]
    assert (best.competency, best.framework) == ("WS-WRITE", "WS")
    assert catalogue.catalogue(frameworks=["OTHER"]).competencies == {}
