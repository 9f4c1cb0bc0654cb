"""Coverage: which competencies no course builds, which courses build no competency.

Computed from the links Moodle holds now, per framework and level (depth in the tree), and
written as a table (by the CLI), CSV, JSON, or an SVG matrix of courses x competencies that
a person can open in a browser.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from connector.moodle import models as m
from skills_map.catalogue import Catalogue, level_of
from skills_map.mapping import Outcome


@dataclass(frozen=True)
class CompetencyCoverage:
    framework: str
    idnumber: str
    name: str
    level: int
    courses: tuple[str, ...]
    unresolved: str = ""  # why the site's copy was not found (its links are unknown)


@dataclass(frozen=True)
class CourseCoverage:
    shortname: str
    name: str
    competencies: tuple[str, ...]


@dataclass(frozen=True)
class LevelCoverage:
    framework: str
    level: int
    competencies: int
    covered: int

    @property
    def share(self) -> float:
        return self.covered / self.competencies if self.competencies else 0.0


@dataclass(frozen=True)
class Coverage:
    competencies: tuple[CompetencyCoverage, ...]
    courses: tuple[CourseCoverage, ...]
    outcomes: Mapping[tuple[str, str, str], int]  # (course, framework, competency) -> outcome

    @property
    def uncovered(self) -> list[CompetencyCoverage]:
        """Competencies that no course builds (of those found on the site)."""
        return [c for c in self.competencies if not c.courses and not c.unresolved]

    @property
    def unresolved(self) -> list[CompetencyCoverage]:
        """Competencies not found on the site: whether a course builds them is unknown."""
        return [c for c in self.competencies if c.unresolved]

    @property
    def unmapped(self) -> list[CourseCoverage]:
        """Courses that build no competency (of the frameworks looked at)."""
        return [c for c in self.courses if not c.competencies]

    def levels(self) -> list[LevelCoverage]:
        counts: dict[tuple[str, int], list[int]] = {}
        for c in self.competencies:
            row = counts.setdefault((c.framework, c.level), [0, 0])
            row[0] += 1
            row[1] += 1 if c.courses else 0
        return [LevelCoverage(fw, level, total, covered)
                for (fw, level), (total, covered) in sorted(counts.items())]


def build_coverage(catalogue: Catalogue,
                   links: Mapping[int, Sequence[m.CourseCompetency]]) -> Coverage:
    """Coverage of the catalogue's frameworks by the given course links; competencies the
    site holds under no known id (``catalogue.unresolved``) are kept, with the reason."""
    outcomes: dict[tuple[str, str, str], int] = {}
    for course_id, rows in links.items():
        course = catalogue.course_by_id(course_id)
        for row in rows:
            framework = catalogue.framework_of(row.competency)
            if course is not None and framework in catalogue.competencies:
                outcomes[(course.shortname, framework, row.competency.idnumber)] = (
                    row.coursecompetency.ruleoutcome)
    competencies = tuple(
        CompetencyCoverage(fw, c.idnumber, c.shortname, level_of(c), tuple(sorted(
            course for (course, f, i) in outcomes if f == fw and i == c.idnumber)),
            catalogue.unresolved.get((fw, c.idnumber), ""))
        for fw, rows in catalogue.competencies.items()
        for c in sorted(rows, key=lambda c: (c.path, c.sortorder)))
    competencies = tuple(sorted(competencies, key=lambda c: (c.framework, _order(c, catalogue))))
    courses = tuple(CourseCoverage(c.shortname, c.fullname, tuple(sorted(
        f"{f}/{i}" for (course, f, i) in outcomes if course == c.shortname)))
        for c in sorted(catalogue.courses, key=lambda c: c.shortname))
    return Coverage(competencies, courses, outcomes)


def _order(c: CompetencyCoverage, catalogue: Catalogue) -> tuple[str, ...]:
    """Tree order: a competency right after its parent (paths of sort orders)."""
    rows = {r.id: r for r in catalogue.competencies[c.framework]}
    row = next(r for r in rows.values() if r.idnumber == c.idnumber)
    chain = [int(p) for p in row.path.strip("/").split("/")[1:]] + [row.id]
    return tuple(f"{rows[i].sortorder:05d}" if i in rows else "" for i in chain)


def to_json(coverage: Coverage) -> dict[str, object]:
    return {
        "levels": [{"framework": lv.framework, "level": lv.level,
                    "competencies": lv.competencies, "covered": lv.covered,
                    "share": round(lv.share, 3)} for lv in coverage.levels()],
        "uncovered_competencies": [{"framework": c.framework, "idnumber": c.idnumber,
                                    "name": c.name, "level": c.level}
                                   for c in coverage.uncovered],
        "unresolved_competencies": [{"framework": c.framework, "idnumber": c.idnumber,
                                     "name": c.name, "level": c.level,
                                     "reason": c.unresolved} for c in coverage.unresolved],
        "courses_without_competencies": [{"shortname": c.shortname, "name": c.name}
                                         for c in coverage.unmapped],
        "links": [{"course": k[0], "framework": k[1], "competency": k[2],
                   "outcome": Outcome(v).label} for k, v in sorted(coverage.outcomes.items())],
    }


def to_csv(coverage: Coverage) -> str:
    """One row per competency and per course: what builds it, or what it builds; the last
    column says why a competency was not found on the site (empty when it was)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "framework", "level", "id", "name", "links", "linked_to",
                     "unresolved"])
    for c in coverage.competencies:
        writer.writerow(["competency", c.framework, c.level, c.idnumber, c.name,
                         len(c.courses), ";".join(c.courses), c.unresolved])
    for course in coverage.courses:
        writer.writerow(["course", "", "", course.shortname, course.name,
                         len(course.competencies), ";".join(course.competencies), ""])
    return out.getvalue()


CELL, LEFT, TOP = 16, 120, 170
COLOURS = {0: "#bdbdbd", 1: "#9ecae1", 2: "#4292c6", 3: "#08519c"}
SVG_NS = "http://www.w3.org/2000/svg"


def to_svg(coverage: Coverage) -> str:
    """The matrix of courses (rows) x competencies (columns), coloured by rule outcome.

    Columns are grouped by framework; a competency no course builds has a red label (grey,
    with the reason on hover, when it was not found on the site), a course that builds none a
    red name. Hovering a cell shows the link.
    """
    comps, courses = coverage.competencies, coverage.courses
    # Column labels are turned 60 degrees up: the last one reaches right by cos(60) of its
    # length (about 6 px a character at this size), so the picture is widened to show it whole.
    reach = max((len(c.idnumber) + 2 * (c.level - 1) for c in comps), default=0) * 3
    width = LEFT + CELL * max(len(comps), 1) + 20 + reach
    height = TOP + CELL * max(len(courses), 1) + 60
    svg = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS},  # type: ignore[dict-item]
                        width=str(width),
                        height=str(height), viewBox=f"0 0 {width} {height}",
                        style="font-family: sans-serif; font-size: 10px")
    _text(svg, 4, 14, "Skills map coverage: courses x competencies", weight="bold")
    _columns(svg, comps)
    for row, course in enumerate(courses):
        y = TOP + row * CELL
        _text(svg, LEFT - 4, y + CELL - 4, course.shortname, anchor="end",
              fill="#c62828" if not course.competencies else "#000", tip=course.name)
        for col, comp in enumerate(comps):
            outcome = coverage.outcomes.get((course.shortname, comp.framework, comp.idnumber))
            rect = etree.SubElement(svg, f"{{{SVG_NS}}}rect", x=str(LEFT + col * CELL),
                                    y=str(y), width=str(CELL - 1), height=str(CELL - 1),
                                    fill=COLOURS[outcome] if outcome is not None else "#fff",
                                    stroke="#e0e0e0")
            if outcome is not None:
                etree.SubElement(rect, f"{{{SVG_NS}}}title").text = (
                    f"{course.shortname} -> {comp.framework}/{comp.idnumber}: "
                    f"{Outcome(outcome).label}")
    _legend(svg, 4, height - 20)
    return etree.tostring(svg, xml_declaration=True, encoding="UTF-8",
                          pretty_print=True).decode("utf-8")


def _columns(svg: etree._Element, comps: Sequence[CompetencyCoverage]) -> None:
    previous = None
    for col, comp in enumerate(comps):
        x = LEFT + col * CELL
        if comp.framework != previous:
            _text(svg, x, 32, comp.framework, weight="bold")
            etree.SubElement(svg, f"{{{SVG_NS}}}line", x1=str(x - 1), y1="36", x2=str(x - 1),
                             y2=str(TOP - 2), stroke="#757575")
            previous = comp.framework
        label = ("  " * (comp.level - 1)) + comp.idnumber
        fill = "#9e9e9e" if comp.unresolved else "#c62828" if not comp.courses else "#000"
        tip = f"{comp.name} (not found on the site: {comp.unresolved})" if comp.unresolved \
            else comp.name
        _text(svg, x + CELL - 5, TOP - 4, label, rotate=(x + CELL - 5, TOP - 4), fill=fill,
              tip=tip)


def _legend(svg: etree._Element, x: int, y: int) -> None:
    for outcome in Outcome:
        etree.SubElement(svg, f"{{{SVG_NS}}}rect", x=str(x), y=str(y), width="10",
                         height="10", fill=COLOURS[outcome])
        _text(svg, x + 14, y + 9, outcome.label)
        x += 90
    _text(svg, x, y + 9, "red label: not covered / builds nothing", fill="#c62828")


def _text(parent: etree._Element, x: int, y: int, text: str, *, anchor: str = "start",
          fill: str = "#000", weight: str = "normal", tip: str = "",
          rotate: tuple[int, int] | None = None) -> None:
    element = etree.SubElement(parent, f"{{{SVG_NS}}}text", x=str(x), y=str(y), fill=fill)
    element.set("text-anchor", anchor)
    element.set("font-weight", weight)
    if rotate:
        element.set("transform", f"rotate(-60 {rotate[0]} {rotate[1]})")
    element.text = text
    if tip:
        etree.SubElement(element, f"{{{SVG_NS}}}title").text = tip
