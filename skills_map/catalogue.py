"""What the LMS holds that the skills map needs: courses, frameworks, competencies, links.

Read once per command, with concurrent calls (one per framework and one per course), and
used to resolve a mapping file's names into Moodle ids before anything is written. Course
tags, which only suggestions use, are read on request (:mod:`skills_map.tags`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.client import MoodleClient
from skills_map.errors import MappingError, Problem
from skills_map.mapping import Mapping, Outcome
from skills_map.suggest import CompetencyDoc, CourseDoc
from skills_map.tags import read_course_tags


@dataclass(frozen=True)
class Catalogue:
    """The site's courses and the competencies of its frameworks; ``tags`` by course id when
    they were read, ``notes`` saying what could not be read, and ``unresolved`` the
    competencies (framework, idnumber) the site holds under no known id, with the reason
    (a site that never answers idnumbers; their ids here are placeholders below zero)."""

    courses: tuple[m.Course, ...]
    frameworks: tuple[m.CompetencyFramework, ...]
    competencies: dict[str, tuple[m.Competency, ...]] = field(default_factory=dict)
    tags: dict[int, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    unresolved: dict[tuple[str, str], str] = field(default_factory=dict)

    def course(self, ref: str) -> m.Course | None:
        """A course by shortname, else by idnumber."""
        return (next((c for c in self.courses if c.shortname == ref), None)
                or next((c for c in self.courses if ref and c.idnumber == ref), None))

    def course_by_id(self, course_id: int) -> m.Course | None:
        return next((c for c in self.courses if c.id == course_id), None)

    def matches(self, idnumber: str, framework: str | None) -> list[tuple[str, m.Competency]]:
        """Competencies with this idnumber, in ``framework`` or in any framework."""
        return [(fw, c) for fw, rows in self.competencies.items()
                if framework in (None, fw) for c in rows if c.idnumber == idnumber]

    def framework_of(self, competency: m.Competency) -> str:
        return next((f.idnumber for f in self.frameworks
                     if f.id == competency.competencyframeworkid), "")

    def course_docs(self) -> list[CourseDoc]:
        return [CourseDoc(c.id, c.shortname, c.fullname, c.summary, self.tags.get(c.id, ()))
                for c in self.courses]

    def competency_docs(self) -> list[CompetencyDoc]:
        docs = []
        for fw, rows in self.competencies.items():
            names = {c.id: c.shortname for c in rows}
            docs += [CompetencyDoc(c.id, c.idnumber, fw, c.shortname, c.description,
                                   names.get(c.parentid, ""), level_of(c)) for c in rows]
        return docs


def level_of(competency: m.Competency) -> int:
    """Depth in the framework tree: 1 at the top (Moodle's path is ``/0/`` there)."""
    return competency.path.strip("/").count("/") + 1


def read_catalogue(client: MoodleClient, frameworks: Sequence[str] = (), *,
                   with_tags: bool = False) -> Catalogue:
    """Every course, and the competencies of ``frameworks`` (all frameworks when empty);
    with ``with_tags``, every course's tags too (or a note saying why there are none)."""
    courses = tuple(client.courses_by_field())
    found = [f for f in client.list_frameworks() if not frameworks or f.idnumber in frameworks]
    params = [ep.ListCompetencies(filters=[ep.Filter(column="competencyframeworkid",
                                                     value=f.id)]) for f in found]
    answers = client.map(ep.LIST_COMPETENCIES, params) if params else []
    competencies = {f.idnumber: tuple(rows) for f, rows in zip(found, answers, strict=True)}
    if not with_tags:
        return Catalogue(courses, tuple(found), competencies)
    tags = read_course_tags(client)
    notes = (tags.unavailable,) if tags.unavailable else ()
    return Catalogue(courses, tuple(found), competencies, tags.by_course, notes)


class CatalogueSource(Protocol):
    """What suggestions and coverage read of a site: its catalogue and its current links.

    The composition root picks the implementation (Moodle's course competencies, or a site
    that keeps links per competency); the code using it never asks which LMS it is.
    """

    def catalogue(self, frameworks: Sequence[str] = (), *,
                  with_tags: bool = False) -> Catalogue: ...

    def links(self, catalogue: Catalogue) -> dict[int, list[m.CourseCompetency]]:
        """The links of the catalogue's courses to its competencies, by course id."""


@dataclass(frozen=True)
class MoodleCatalogue:
    """Moodle's side: :func:`read_catalogue` and one call per course for its links."""

    client: MoodleClient

    def catalogue(self, frameworks: Sequence[str] = (), *,
                  with_tags: bool = False) -> Catalogue:
        return read_catalogue(self.client, frameworks, with_tags=with_tags)

    def links(self, catalogue: Catalogue) -> dict[int, list[m.CourseCompetency]]:
        return read_links(self.client, [c.id for c in catalogue.courses])


def read_links(client: MoodleClient,
               course_ids: Iterable[int]) -> dict[int, list[m.CourseCompetency]]:
    """The competency links of each course, one concurrent call per course."""
    ids = sorted(set(course_ids))
    answers = client.map(ep.LIST_COURSE_COMPETENCIES, [ep.ById(id=i) for i in ids])
    return dict(zip(ids, answers, strict=True))


@dataclass(frozen=True)
class WantedLink:
    """A link of the mapping file resolved to Moodle ids."""

    course: str
    course_id: int
    framework: str
    competency: str
    competency_id: int
    outcome: Outcome
    line: int | None = None


def resolve(mapping: Mapping, catalogue: Catalogue) -> list[WantedLink]:
    """Turn the file's course and competency references into Moodle ids.

    Raises:
        MappingError: unknown or ambiguous courses and competencies, and links that turn
            out to be the same (a course named once by shortname, once by idnumber).
    """
    file = str(mapping.path)
    problems: list[Problem] = []
    wanted: list[WantedLink] = []
    seen: dict[tuple[int, int], int | None] = {}
    for link in mapping.links:
        course = catalogue.course(link.course)
        if course is None:
            problems.append(Problem(file, link.line, f"no course with shortname or idnumber "
                                    f"{link.course!r} in the LMS", "course"))
        matches = catalogue.matches(link.competency, link.framework)
        if not matches:
            where = f"framework {link.framework!r}" if link.framework else "any framework"
            problems.append(Problem(file, link.line, f"no competency with idnumber "
                                    f"{link.competency!r} in {where} of the LMS", "competency"))
        elif len(matches) > 1:
            names = ", ".join(sorted(fw for fw, _ in matches))
            problems.append(Problem(file, link.line, f"{link.competency!r} is in several "
                                    f"frameworks ({names}); add `framework:`", "competency"))
        if course is None or len(matches) != 1:
            continue
        framework, competency = matches[0]
        pair = (course.id, competency.id)
        if pair in seen:
            problems.append(Problem(file, link.line, f"{course.shortname} -> "
                                    f"{competency.idnumber} is listed twice (first on line "
                                    f"{seen[pair]})", "competency"))
            continue
        seen[pair] = link.line
        wanted.append(WantedLink(course.shortname, course.id, framework, competency.idnumber,
                                 competency.id, link.outcome, link.line))
    if problems:
        raise MappingError(problems)
    return wanted
