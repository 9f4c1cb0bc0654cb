"""Totara's side of course links (:class:`skills_map.linkset_job.CompetencyLinkSite`) over
its legacy web services: courses by ``core_course_get_courses_by_field``, competencies found
by name path through ``totara_competency_get_frameworks`` and
``totara_competency_competency_index``, links read with ``totara_competency_get_linked_courses``
and replaced with ``totara_competency_set_linked_courses``."""

from __future__ import annotations

from collections.abc import Sequence

from connector.moodle.client import MoodleClient
from connector.pacing import CallStats
from connector.totara.legacy import LINK_FUNCTIONS, LegacyCompetencies
from skills_map.errors import SkillsMapError
from skills_map.linkset import SiteLink
from skills_map.linkset_job import CourseRef
from skills_map.namepath import ExportedCompetency, Resolution, SiteNode, find_framework, resolve


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
