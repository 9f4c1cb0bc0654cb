"""Course links on a site that stores them per competency and only replaces the whole list.

The plan uses the same ops as the course-keyed site (:mod:`skills_map.links`), so it reads,
saves and renders the same way. The write honours replace-all: :func:`merged` starts from the
competency's current links, adds or changes the op's link, and drops a link only when the op
removes one lms-sidecar made. Such a site knows whether a linked course is mandatory, not a
rule outcome: a link is mandatory when the mapping file says ``complete``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from skills_map.links import (
    ForeignLink,
    LinkCourseCompetency,
    LinkOp,
    SetLinkOutcome,
    UnlinkCourseCompetency,
    link_key,
)
from skills_map.mapping import Outcome
from sync.plan import Op, Plan, register_op


@register_op
@dataclass(frozen=True)
class UnresolvedLink(LinkOp):
    """A link of the file whose competency the site's names do not lead to: not linked,
    shown with the reason (renamed on the site, duplicate names, not imported yet)."""

    kind: ClassVar[str] = "unresolved_link"
    writes: ClassVar[bool] = False
    outcome: int = 0


@dataclass(frozen=True)
class SiteLink:
    """One linked course of a competency as the site holds it."""

    course_id: int
    mandatory: bool


@dataclass(frozen=True)
class WantedSiteLink:
    """A link of the mapping file with site ids."""

    course: str
    course_id: int
    framework: str
    competency: str
    competency_id: int
    outcome: Outcome
    line: int | None = None

    @property
    def mandatory(self) -> bool:
        return is_mandatory(self.outcome)


def is_mandatory(outcome: int) -> bool:
    """``complete`` (finishing the course completes the competency) is a mandatory link."""
    return outcome == Outcome.COMPLETE


def shown_outcome(mandatory: bool) -> Outcome:
    return Outcome.COMPLETE if mandatory else Outcome.EVIDENCE


def fingerprint(links: Sequence[SiteLink]) -> str:
    """What a competency's links are now, order ignored."""
    rows = sorted((link.course_id, link.mandatory) for link in links)
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def merged(current: Sequence[SiteLink], op: Op) -> list[SiteLink]:
    """The full list to send for ``op``: every current link kept, the op's link added or
    changed, or removed when the op removes a link lms-sidecar made."""
    course_id = getattr(op, "course_id", 0)
    others = [link for link in current if link.course_id != course_id]
    if isinstance(op, LinkCourseCompetency):
        return [*others, SiteLink(course_id, is_mandatory(op.outcome))]
    if isinstance(op, SetLinkOutcome):
        return [*others, SiteLink(course_id, is_mandatory(op.after))]
    if isinstance(op, UnlinkCourseCompetency):
        return others
    return list(current)


@dataclass(frozen=True)
class Names:
    """How to show ids: course shortnames, and (framework, idnumber) of competencies."""

    courses: Mapping[int, str]
    competencies: Mapping[int, tuple[str, str]]

    def course(self, course_id: int) -> str:
        return self.courses.get(course_id, f"course {course_id}")

    def competency(self, competency_id: int) -> tuple[str, str]:
        return self.competencies.get(competency_id, ("", f"competency {competency_id}"))


def plan_link_sets(wanted: Sequence[WantedSiteLink], current: Mapping[int, Sequence[SiteLink]],
                   ours: Collection[str], names: Names, *, site: str,
                   source: str = "") -> Plan:
    """The ops that make each competency in ``current`` hold the ``wanted`` links, keeping
    links others made; ``ours`` holds :func:`skills_map.links.link_key` of links we made."""
    by_competency: dict[int, list[WantedSiteLink]] = {}
    for link in wanted:
        by_competency.setdefault(link.competency_id, []).append(link)
    ops: list[Op] = []
    basis: dict[str, str] = {}
    for competency_id in sorted(current, key=names.competency):
        framework, idnumber = names.competency(competency_id)
        basis[f"{framework}/{idnumber}#{competency_id}"] = fingerprint(current[competency_id])
        now = {link.course_id: link for link in current[competency_id]}
        wanted_here = sorted(by_competency.get(competency_id, []),
                             key=lambda w: (w.course, w.line or 0))
        for link in wanted_here:
            ops += _wanted_op(link, now.get(link.course_id))
        wanted_ids = {link.course_id for link in wanted_here}
        for course_id in sorted(set(now) - wanted_ids, key=names.course):
            base = _base(names.course(course_id), course_id, framework, idnumber, competency_id)
            outcome = int(shown_outcome(now[course_id].mandatory))
            if link_key(course_id, competency_id) in ours:
                ops.append(UnlinkCourseCompetency(
                    **base, outcome=outcome,  # type: ignore[arg-type]
                    reason="made by lms-sidecar, gone from the mapping file"))
            else:
                ops.append(ForeignLink(**base, outcome=outcome,  # type: ignore[arg-type]
                                       reason="linked in the LMS by someone else; left alone"))
    return Plan(site=site, ops=tuple(ops), basis=basis, sources=(source,) if source else ())


def _base(course: str, course_id: int, framework: str, competency: str,
          competency_id: int) -> dict[str, object]:
    return {"framework": framework, "idnumber": f"{course}/{competency}", "stage": 1,
            "course": course, "competency": competency, "course_id": course_id,
            "competency_id": competency_id}


def _wanted_op(link: WantedSiteLink, now: SiteLink | None) -> list[Op]:
    base = _base(link.course, link.course_id, link.framework, link.competency,
                 link.competency_id)
    if now is None:
        return [LinkCourseCompetency(**base, outcome=int(link.outcome),  # type: ignore[arg-type]
                                     reason=f"in the mapping file (line {link.line})")]
    if now.mandatory == link.mandatory:
        return []
    yes_no = {True: "yes", False: "no"}
    return [SetLinkOutcome(**base, before=int(shown_outcome(now.mandatory)),  # type: ignore[arg-type]
                           after=int(link.outcome),
                           reason=f"mandatory {yes_no[now.mandatory]} -> "
                                  f"{yes_no[link.mandatory]} (mapping file line {link.line})")]
