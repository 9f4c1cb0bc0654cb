"""Totara's side of course links (:class:`skills_map.linkset_job.CompetencyLinkSite`) over
its legacy web services: courses by ``core_course_get_courses_by_field``, competencies found
by name path through ``totara_competency_get_frameworks`` and
``totara_competency_competency_index``, links read with ``totara_competency_get_linked_courses``
and replaced with ``totara_competency_set_linked_courses``.

:class:`TotaraCatalogue` is Totara's :class:`skills_map.catalogue.CatalogueSource` (suggestions
and coverage): competencies, their names, descriptions and tree come from the framework
sources, their site ids from the name path of lms-sidecar's last HR Import export."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connector.moodle import models as m
from connector.moodle.client import MoodleClient
from connector.pacing import CallStats
from connector.totara.legacy import (
    GET_LINKED_COURSES,
    LINK_FUNCTIONS,
    CompetencyId,
    LegacyCompetencies,
)
from skills_map.catalogue import Catalogue
from skills_map.errors import SkillsMapError
from skills_map.linkset import SiteLink, shown_outcome
from skills_map.linkset_job import CourseRef
from skills_map.namepath import ExportedCompetency, Resolution, SiteNode, find_framework, resolve
from sync.model import Framework

#: Said once by suggestions on Totara: its web services have no course tags function.
NO_TAGS = ("Totara's web services have no function for course tags (none in "
           "docs/totara.md's contract), so course tags are not read")
NOT_EXPORTED = ("not in the last HR Import export lms-sidecar wrote for this site (run "
                "`sidecar apply` and let HR Import run)")


def missing_functions(available: frozenset[str]) -> list[str]:
    """The course-link functions the token's service lacks."""
    return [name for name in LINK_FUNCTIONS if name not in available]


class TotaraCourseLinks:
    """Course links of a Totara site through its legacy web-service client."""

    def __init__(self, client: MoodleClient) -> None:
        self.client = client
        self.legacy = LegacyCompetencies(client)

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    @property
    def concurrency(self) -> int:
        return self.client.concurrency

    def require_functions(self) -> None:
        """Stop before anything is read or written when the token's service lacks a function.

        Raises:
            SkillsMapError: naming each missing function and the fix.
            LmsError: the site could not be asked.
        """
        missing = missing_functions(frozenset(self.client.site_info().function_names))
        if missing:
            raise SkillsMapError(
                f"the web-service token's service lacks {', '.join(missing)}: course links on "
                "Totara need all of " + ", ".join(LINK_FUNCTIONS) + ". Add them to the "
                "service (Site administration > Server > Web services > External services > "
                "Functions); nothing was read or written")

    def courses(self) -> Sequence[CourseRef]:
        return [CourseRef(c.id, c.shortname, c.idnumber or "")
                for c in self.client.courses_by_field()]

    def resolve(self, exported: Sequence[ExportedCompetency]) -> Resolution:
        """Frameworks by full name, then competencies by (parent, full name)."""
        names = {c.framework: c.framework_name for c in exported}
        site_frameworks = [SiteNode(f.id, f.fullname) for f in self.legacy.frameworks()]
        frameworks: dict[str, int | str] = {}
        for idnumber, name in names.items():
            frameworks[idnumber] = (find_framework(name, site_frameworks) if name else
                                    f"{idnumber!r} is no longer in the framework sources, so "
                                    "its name is unknown")
        competencies = {fid: [SiteNode(c.id, c.fullname, c.parentid)
                              for c in self.legacy.competencies(fid)]
                        for fid in sorted({f for f in frameworks.values() if isinstance(f, int)})}
        return resolve(exported, frameworks, competencies)

    def course_links(self, competency_id: int) -> list[SiteLink]:
        return [SiteLink(c.id, c.mandatory) for c in self.legacy.linked_courses(competency_id)]

    def replace_course_links(self, competency_id: int, links: Sequence[SiteLink]) -> None:
        self.legacy.set_linked_courses(competency_id,
                                       [(link.course_id, link.mandatory) for link in links])


class TotaraCatalogue:
    """Totara's catalogue for suggestions and coverage, read-only.

    Courses (names, summaries) come from ``core_course_get_courses_by_field``; competencies
    (names, descriptions, tree) from the framework sources; each competency's site id from the
    name path of the last export (:meth:`TotaraCourseLinks.resolve`). A competency not found
    keeps a placeholder id below zero and the reason in :attr:`Catalogue.unresolved`; its links
    are not read. Framework ids are placeholders (below zero): Totara's are never needed here.
    """

    def __init__(self, site: TotaraCourseLinks, sources: Callable[[], Sequence[Framework]],
                 exported: Callable[[], Sequence[ExportedCompetency]]) -> None:
        self.site = site
        self.sources = sources
        self.exported = exported

    def catalogue(self, frameworks: Sequence[str] = (), *,
                  with_tags: bool = False) -> Catalogue:
        chosen = [f for f in self.sources() if not frameworks or f.idnumber in frameworks]
        wanted = {f.idnumber for f in chosen}
        exported = [c for c in self.exported() if c.framework in wanted]
        resolution = self.site.resolve(exported) if exported else Resolution()
        courses = tuple(self.site.client.courses_by_field())
        known = {(c.framework, c.idnumber) for c in exported}
        placeholders = iter(range(-1, -1_000_000_000, -1))
        found: list[m.CompetencyFramework] = []
        competencies: dict[str, tuple[m.Competency, ...]] = {}
        unresolved: dict[tuple[str, str], str] = {}
        for number, framework in enumerate(chosen, start=1):
            ids = {}
            for c in framework.competencies:
                key = (framework.idnumber, c.idnumber)
                site_id = resolution.ids.get(key)
                if site_id is None:
                    unresolved[key] = (resolution.problems.get(key, "not found")
                                       if key in known else NOT_EXPORTED)
                    site_id = next(placeholders)
                ids[c.idnumber] = site_id
            found.append(m.CompetencyFramework(
                id=-number, shortname=framework.shortname, idnumber=framework.idnumber,
                description=framework.description, scaleid=0, scaleconfiguration="",
                contextid=0))
            competencies[framework.idnumber] = _tree(framework, ids, -number)
        notes = (NO_TAGS,) if with_tags else ()
        return Catalogue(courses, tuple(found), competencies, notes=notes,
                         unresolved=unresolved)

    def links(self, catalogue: Catalogue) -> dict[int, list[m.CourseCompetency]]:
        """Each found competency's linked courses (one concurrent call per competency), by
        course; mandatory is shown as ``complete``, optional as ``evidence``."""
        rows = {c.id: c for cs in catalogue.competencies.values() for c in cs if c.id > 0}
        ids = sorted(rows)
        answers = self.site.client.map(GET_LINKED_COURSES,
                                       [CompetencyId(competency_id=i) for i in ids])
        by_course: dict[int, list[m.CourseCompetency]] = {c.id: [] for c in catalogue.courses}
        for competency_id, answer in zip(ids, answers, strict=True):
            for item in answer.items:
                by_course.setdefault(item.id, []).append(m.CourseCompetency(
                    competency=rows[competency_id],
                    coursecompetency=m.CourseCompetencyLink(
                        id=0, courseid=item.id, competencyid=competency_id,
                        ruleoutcome=int(shown_outcome(item.mandatory)))))
        return by_course


def _tree(framework: Framework, ids: dict[str, int],
          framework_id: int) -> tuple[m.Competency, ...]:
    """The source's competencies as catalogue rows: Moodle-style paths of the ids above, and
    each one's place among its siblings in source order."""
    parents = {c.idnumber: c.parent or "" for c in framework.competencies}
    paths: dict[str, str] = {}

    def path(idnumber: str) -> str:
        if idnumber not in paths:
            parent = parents.get(idnumber, "")
            paths[idnumber] = (f"{path(parent)}{ids[parent]}/" if parent in ids else "/0/")
        return paths[idnumber]

    siblings: dict[str, int] = {}
    rows = []
    for c in framework.competencies:
        parent = c.parent or ""
        siblings[parent] = siblings.get(parent, 0) + 1
        rows.append(m.Competency(
            id=ids[c.idnumber], shortname=c.shortname, idnumber=c.idnumber,
            description=c.description, descriptionformat=int(c.descriptionformat),
            sortorder=siblings[parent], parentid=ids.get(parent, 0), path=path(c.idnumber),
            competencyframeworkid=framework_id))
    return tuple(rows)
