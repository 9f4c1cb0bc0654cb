"""The link plan: which course-competency links to add, re-outcome or remove.

Links are planned like frameworks (:mod:`sync.plan`): typed, frozen ops with before and
after, a ``basis`` fingerprint per course, JSON round trip. Only links lms-sidecar made (kept
in the store as ``course_competency`` objects) are ever removed; a link someone made in
Moodle by hand and missing from the file is listed and left alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

from connector.moodle import models as m
from skills_map.catalogue import Catalogue, WantedLink
from skills_map.mapping import Outcome
from sync.plan import Op, Plan, register_op

LINK_KIND = "course_competency"  # lms_objects rows: links lms-sidecar made


def link_key(course_id: int, competency_id: int) -> str:
    """The store's external id of a link: Moodle ids, which survive renames."""
    return f"{course_id}/{competency_id}"


@dataclass(frozen=True)
class LinkOp(Op):
    """Base of the link ops: ``framework`` is the competency's framework idnumber and
    ``idnumber`` reads ``COURSE/COMPETENCY``."""

    course: str = ""
    competency: str = ""
    course_id: int = 0
    competency_id: int = 0


@register_op
@dataclass(frozen=True)
class LinkCourseCompetency(LinkOp):
    """Link a competency to a course and give the link its rule outcome (same run)."""

    kind: ClassVar[str] = "link_course_competency"
    outcome: int = Outcome.EVIDENCE


@register_op
@dataclass(frozen=True)
class SetLinkOutcome(LinkOp):
    """Change the rule outcome of an existing link (``link_id`` is the course-competency id)."""

    kind: ClassVar[str] = "set_link_outcome"
    link_id: int = 0
    before: int = 0
    after: int = 0


@register_op
@dataclass(frozen=True)
class UnlinkCourseCompetency(LinkOp):
    """Remove a link lms-sidecar made that the mapping file no longer has."""

    kind: ClassVar[str] = "unlink_course_competency"
    link_id: int = 0
    outcome: int = 0


@register_op
@dataclass(frozen=True)
class ForeignLink(LinkOp):
    """A link in Moodle, not in the file, not made by lms-sidecar: reported, never removed."""

    kind: ClassVar[str] = "foreign_link"
    writes: ClassVar[bool] = False
    outcome: int = 0


def _base(course: str, course_id: int, framework: str, competency: str,
          competency_id: int) -> dict[str, object]:
    return {"framework": framework, "idnumber": f"{course}/{competency}", "stage": 1,
            "course": course, "competency": competency, "course_id": course_id,
            "competency_id": competency_id}


def fingerprint(links: Sequence[m.CourseCompetency]) -> str:
    """What a course's links are now: competencies and outcomes, order ignored."""
    rows = sorted((c.coursecompetency.competencyid, c.coursecompetency.ruleoutcome)
                  for c in links)
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def plan_links(wanted: Sequence[WantedLink], actual: dict[int, list[m.CourseCompetency]],
               ours: Collection[str], catalogue: Catalogue, *, site: str,
               source: str = "") -> Plan:
    """The ops that make the courses in ``actual`` hold exactly the ``wanted`` links.

    ``actual`` holds the links of every course in scope (those in the file and those with
    links lms-sidecar made); ``ours`` the store keys (:func:`link_key`) of the links it made.
    """
    by_course: dict[int, list[WantedLink]] = {}
    for link in wanted:
        by_course.setdefault(link.course_id, []).append(link)
    ops: list[Op] = []
    basis: dict[str, str] = {}
    for course_id in sorted(actual, key=lambda i: _shortname(catalogue, i)):
        course = _shortname(catalogue, course_id)
        current = {c.coursecompetency.competencyid: c for c in actual[course_id]}
        basis[course] = fingerprint(actual[course_id])
        wanted_here = by_course.get(course_id, [])
        for link in wanted_here:
            ops += _wanted_op(link, current.get(link.competency_id))
        wanted_ids = {link.competency_id for link in wanted_here}
        for competency_id, row in current.items():
            if competency_id not in wanted_ids:
                ops.append(_unwanted_op(course, course_id, row, catalogue,
                                        link_key(course_id, competency_id) in ours))
    return Plan(site=site, ops=tuple(ops), basis=basis, sources=(source,) if source else ())


def _shortname(catalogue: Catalogue, course_id: int) -> str:
    course = catalogue.course_by_id(course_id)
    return course.shortname if course else f"course {course_id}"


def _wanted_op(link: WantedLink, row: m.CourseCompetency | None) -> list[Op]:
    base = _base(link.course, link.course_id, link.framework, link.competency,
                 link.competency_id)
    if row is None:
        return [LinkCourseCompetency(**base, outcome=int(link.outcome),  # type: ignore[arg-type]
                                     reason=f"in the mapping file (line {link.line})")]
    before = row.coursecompetency.ruleoutcome
    if before == link.outcome:
        return []
    return [SetLinkOutcome(**base, link_id=row.coursecompetency.id,  # type: ignore[arg-type]
                           before=before, after=int(link.outcome),
                           reason=f"outcome in the mapping file (line {link.line})")]


def _unwanted_op(course: str, course_id: int, row: m.CourseCompetency, catalogue: Catalogue,
                 ours: bool) -> Op:
    base = _base(course, course_id, catalogue.framework_of(row.competency),
                 row.competency.idnumber, row.competency.id)
    if ours:
        return UnlinkCourseCompetency(**base, link_id=row.coursecompetency.id,  # type: ignore[arg-type]
                                      outcome=row.coursecompetency.ruleoutcome,
                                      reason="made by lms-sidecar, gone from the mapping file")
    return ForeignLink(**base, outcome=row.coursecompetency.ruleoutcome,  # type: ignore[arg-type]
                       reason="linked in Moodle by someone else; left alone")
