"""``map plan`` / ``map apply`` for a site that keeps course links per competency, replaces the
whole list on write and never answers a competency's idnumber (Totara's legacy services).

What the job needs of the site is :class:`CompetencyLinkSite` (list courses, find competencies
by name path, read and replace a competency's links); the composition root hands in the
implementation. Links lms-sidecar made are remembered in the store exactly as on the
course-keyed site, so only those are ever removed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector import errors as e
from connector.pacing import CallStats
from skills_map.errors import (
    MappingError,
    Problem,
    SkillsMapError,
    StaleMapPlanError,
)
from skills_map.job import LINKED, RUN_KIND, links_made, locked_apply, remember_link
from skills_map.links import (
    LinkCourseCompetency,
    LinkOp,
    SetLinkOutcome,
    UnlinkCourseCompetency,
)
from skills_map.linkset import (
    Names,
    SiteLink,
    UnresolvedLink,
    WantedSiteLink,
    fingerprint,
    merged,
    plan_link_sets,
)
from skills_map.mapping import MappedLink, Mapping, read_mapping
from skills_map.namepath import ExportedCompetency, Resolution
from sync.apply import Applied, Progress, StagedApplier, StepOutcome
from sync.plan import Op, Plan


@dataclass(frozen=True)
class CourseRef:
    id: int
    shortname: str
    idnumber: str = ""


class CompetencyLinkSite(Protocol):
    """The LMS side of per-competency, replace-all course links."""

    @property
    def stats(self) -> CallStats: ...

    @property
    def concurrency(self) -> int: ...

    def courses(self) -> Sequence[CourseRef]: ...

    def resolve(self, exported: Sequence[ExportedCompetency]) -> Resolution:
        """Site ids of ``exported`` by name path (frameworks read once)."""

    def course_links(self, competency_id: int) -> list[SiteLink]: ...

    def replace_course_links(self, competency_id: int, links: Sequence[SiteLink]) -> None: ...


class LinkSetApplier(StagedApplier[None, CompetencyLinkSite]):
    """One lane per competency: each op reads the current list, sends the merged list, and
    reads it back (the site drops courses its user cannot see without a word)."""

    run_kind = RUN_KIND

    def lane(self, op: Op) -> tuple[str, ...]:
        return ("competency", str(op.competency_id)) if isinstance(op, LinkOp) else (op.op_id,)

    def remember(self, session: Session, outcome: StepOutcome) -> None:
        # Totara's link has no id of its own: the competency's stands for it.
        remember_link(session, self.site, outcome, getattr(outcome.op, "competency_id", 0))

    def _write(self, op: LinkOp, _: None) -> StepOutcome:
        current = self.client.course_links(op.competency_id)
        already = any(link.course_id == op.course_id for link in current)
        wanted = merged(current, op)
        if sorted(wanted, key=_order) == sorted(current, key=_order):
            return StepOutcome(op, "done", "already so in the LMS (not taken over)"
                               if isinstance(op, LinkCourseCompetency) else "already so",
                               op.competency_id)
        self.client.replace_course_links(op.competency_id, wanted)
        after = {link.course_id: link for link in self.client.course_links(op.competency_id)}
        if not isinstance(op, UnlinkCourseCompetency) and op.course_id not in after:
            return StepOutcome(op, "failed", f"the LMS dropped course {op.course} from the list "
                               "(its web-service user cannot see the course: hidden, or not "
                               "visible to the user's audiences)", op.competency_id)
        if isinstance(op, LinkCourseCompetency):
            detail = LINKED if not already else "was already linked (not taken over)"
            return StepOutcome(op, "done", f"{detail}, mandatory "
                               f"{'yes' if after[op.course_id].mandatory else 'no'}",
                               op.competency_id)
        verb = "unlinked" if isinstance(op, UnlinkCourseCompetency) else "mandatory changed"
        return StepOutcome(op, "done", verb, op.competency_id)


def _order(link: SiteLink) -> tuple[int, bool]:
    return (link.course_id, link.mandatory)


LinkSetApplier.handlers = {LinkCourseCompetency: LinkSetApplier._write,
                           SetLinkOutcome: LinkSetApplier._write,
                           UnlinkCourseCompetency: LinkSetApplier._write}


@dataclass(frozen=True)
class LinkSetMap:
    """Plan and apply a mapping file on a per-competency, replace-all site."""

    lms: CompetencyLinkSite
    engine: Engine
    site: str
    mapping_file: Path | None
    exported: Callable[[], Sequence[ExportedCompetency]]

    @property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    def plan(self) -> Plan:
        """Read the file, the last export and the site; return the plan (nothing written).

        Raises:
            SkillsMapError: no mapping file, or nothing exported yet.
            MappingError: unknown courses or competencies, and competencies the site's names
                do not lead to (each with the reason); nothing is sent.
            LmsError: the site could not be read (the message names the function).
        """
        if self.mapping_file is None:
            raise SkillsMapError("no mapping file: set skills_map.mapping_file in the config "
                                 "or give --mapping FILE")
        mapping = read_mapping(self.mapping_file)
        exported = list(self.exported())
        if not exported:
            raise SkillsMapError("lms-sidecar has not exported any competency to this site "
                                 "yet: run `sidecar apply` (HR Import file) and let the site "
                                 "import it first; links are found through that export")
        courses = {c.id: c for c in self.lms.courses()}
        wanted, needed = _wanted_rows(mapping, exported, list(courses.values()))
        resolution = self.lms.resolve(needed)
        links, unresolved = _resolve_links(wanted, resolution)
        ours = links_made(self.sessions, self.site)
        scope = {w.competency_id for w in links} | {
            int(key.split("/")[1]) for key in ours}
        wanted_ids = {w.competency_id for w in links}
        current: dict[int, list[SiteLink]] = {}
        for cid in sorted(scope):
            try:
                current[cid] = self.lms.course_links(cid)
            except e.LmsNotFoundError:
                if cid in wanted_ids:
                    raise
                current[cid] = []  # a competency we once linked is gone from the LMS
        names = Names({i: c.shortname for i, c in courses.items()},
                      {v: k for k, v in resolution.ids.items()})
        plan = plan_link_sets(links, current, ours, names, site=self.site,
                              source=str(self.mapping_file))
        return Plan(site=plan.site, ops=(*plan.ops, *unresolved), basis=plan.basis,
                    sources=plan.sources)

    def apply(self, plan: Plan | None = None, *, trigger: str = "cli",
              progress: Progress | None = None) -> Applied:
        """Apply ``plan`` (a saved one, checked first) or a fresh one, under the site's lock.

        Raises:
            MapBusyError: another apply for this site is running.
            StaleMapPlanError: the saved plan is for another site or the links changed since.
        """
        return locked_apply(self, plan, LinkSetApplier(self.lms, self.sessions, self.site,
                                                       progress=progress), trigger)

    def verify(self, plan: Plan) -> None:
        """Refuse a saved plan made for another site or before the links changed."""
        if plan.site != self.site:
            raise StaleMapPlanError(f"the plan was made for {plan.site}, not {self.site}")
        changed = [key.split("#")[0] for key, fp in plan.basis.items()
                   if fingerprint(self.lms.course_links(int(key.rsplit("#", 1)[1]))) != fp]
        if changed:
            raise StaleMapPlanError(f"the LMS changed since the plan was made "
                                    f"({', '.join(changed)}); run `sidecar map plan` again")


def _course(ref: str, courses: Sequence[CourseRef]) -> CourseRef | None:
    return (next((c for c in courses if c.shortname == ref), None)
            or next((c for c in courses if ref and c.idnumber == ref), None))


Found = tuple[MappedLink, CourseRef, ExportedCompetency]


def _wanted_rows(mapping: Mapping, exported: Sequence[ExportedCompetency],
                 courses: Sequence[CourseRef]) -> tuple[list[Found], list[ExportedCompetency]]:
    """Each file link with its course and exported competency, and the exported rows of the
    frameworks involved.

    Raises:
        MappingError: unknown courses, competencies not exported, ambiguous idnumbers.
    """
    file = str(mapping.path)
    problems: list[Problem] = []
    found: list[Found] = []
    for link in mapping.links:
        course = _course(link.course, courses)
        if course is None:
            problems.append(Problem(file, link.line, f"no course with shortname or idnumber "
                                    f"{link.course!r} in the LMS", "course"))
        rows = [c for c in exported if c.idnumber == link.competency
                and link.framework in (None, c.framework)]
        if not rows:
            problems.append(Problem(file, link.line, f"{link.competency!r} is not in the last "
                                    "export lms-sidecar wrote for this site (run `sidecar "
                                    "apply` first, or check the idnumber)", "competency"))
        elif len(rows) > 1:
            names = ", ".join(sorted(c.framework for c in rows))
            problems.append(Problem(file, link.line, f"{link.competency!r} is in several "
                                    f"frameworks ({names}); add `framework:`", "competency"))
        if course is not None and len(rows) == 1:
            found.append((link, course, rows[0]))
    if problems:
        raise MappingError(problems)
    frameworks = {row.framework for _, _, row in found}
    return found, [c for c in exported if c.framework in frameworks]


def _resolve_links(found: Sequence[Found],
                   resolution: Resolution) -> tuple[list[WantedSiteLink], list[Op]]:
    """The links whose competency was found; the others as :class:`UnresolvedLink` ops."""
    links: list[WantedSiteLink] = []
    unresolved: list[Op] = []
    for link, course, row in found:
        key = (row.framework, row.idnumber)
        competency_id = resolution.ids.get(key)
        if competency_id is None:
            unresolved.append(UnresolvedLink(
                framework=row.framework, idnumber=f"{course.shortname}/{row.idnumber}",
                stage=1, course=course.shortname, competency=row.idnumber,
                course_id=course.id, outcome=int(link.outcome),
                reason="not linked: " + resolution.problems.get(key, "not found")))
            continue
        links.append(WantedSiteLink(course.shortname, course.id, row.framework, row.idnumber,
                                    competency_id, link.outcome, link.line))
    return links, unresolved
