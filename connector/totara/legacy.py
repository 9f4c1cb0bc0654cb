"""Totara's legacy ``totara_competency_*`` web services for course links, declared once.

Same protocol as Moodle (the Moodle client and transport carry them). Parameters and answers
are those of Totara's own definitions (Totara 13.1 source, ``server/totara/competency/``:
``db/services.php``, ``classes/external.php``, ``classes/services/competency.php``):

- ``totara_competency_get_frameworks()`` -> ``{items: [{id, fullname}]}``
- ``totara_competency_competency_index(filters{framework, ...}, page, order, direction)`` ->
  a page of ``{items: [{id, fullname, description, display_name, parentid, frameworkid,
  children_count, assignments_count}], page, pages, per_page, next, prev, total}``; needs
  the ``competency_assignment`` feature (``advanced_feature::require``)
- ``totara_competency_get_linked_courses(competency_id)`` -> ``{items: [{id, mandatory,
  fullname}]}``
- ``totara_competency_set_linked_courses(competency_id, courses[{id, mandatory}])`` replaces
  the whole list (courses the caller cannot see are dropped without a word) and answers null.

``get_frameworks`` and ``competency_index`` declare no return structure (their ``*_returns()``
is ``null``). Moodle's stock REST server (``webservice/rest/locallib.php``, ``send_response``)
sends ``null`` for such functions instead of the data; a ``null`` answer is therefore read as
"this site's REST server drops undeclared answers" and raised as
:class:`UndeclaredAnswerError`, never taken for "no competencies".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient

#: The functions course links on Totara need in the token's service.
LINK_FUNCTIONS = ("totara_competency_get_frameworks", "totara_competency_competency_index",
                  "totara_competency_get_linked_courses", "totara_competency_set_linked_courses")
_DOCS = "docs/totara.md, Assumptions, course links"


class UndeclaredAnswerError(e.LmsResponseError):
    """A function without a declared return structure answered ``null`` over REST."""


class CompetencyIndexRefusedError(e.LmsResponseError):
    """``totara_competency_competency_index`` was refused (feature off, no capability)."""


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Framework(_Answer):
    id: int
    fullname: str


class Frameworks(_Answer):
    items: list[Framework]


class Competency(_Answer):
    id: int
    fullname: str
    parentid: int = 0
    frameworkid: int = 0


class CompetencyPage(_Answer):
    items: list[Competency]
    page: int | None = None
    pages: int | None = None
    next: int | None = None
    total: int | None = None


class LinkedCourse(_Answer):
    id: int
    mandatory: bool
    fullname: str = ""


class LinkedCourses(_Answer):
    items: list[LinkedCourse]


class CompetencyId(ep.Params):
    competency_id: int


class IndexFilters(ep.Params):
    framework: int


class CompetencyIndex(ep.Params):
    filters: IndexFilters
    page: int
    order: str = "id"
    direction: str = "asc"


class CourseLinkParam(ep.Params):
    id: int
    mandatory: bool


class SetLinkedCourses(ep.Params):
    competency_id: int
    courses: list[CourseLinkParam]


GET_FRAMEWORKS = ep.Endpoint[Frameworks | None](
    "totara_competency_get_frameworks", ep.NoParams, Frameworks | None)
COMPETENCY_INDEX = ep.Endpoint[CompetencyPage | None](
    "totara_competency_competency_index", CompetencyIndex, CompetencyPage | None)
GET_LINKED_COURSES = ep.Endpoint[LinkedCourses](
    "totara_competency_get_linked_courses", CompetencyId, LinkedCourses)
# Replace-all with the same list twice leaves the same list: safe to retry.
SET_LINKED_COURSES = ep.Endpoint[None](
    "totara_competency_set_linked_courses", SetLinkedCourses, None)


def _dropped(function: str) -> UndeclaredAnswerError:
    return UndeclaredAnswerError(
        f"{function} answered null: it declares no return structure, and Totara's REST server "
        "(like Moodle's) sends null for such functions instead of the data, so lms-sidecar "
        "cannot list this site's competencies and nothing was written. Link courses on the "
        f"competency's page in Totara, or switch features.skills_map off ({_DOCS})",
        wsfunction=function)


class LegacyCompetencies:
    """The course-link functions of a Totara site, over its legacy web-service client."""

    def __init__(self, client: MoodleClient, *, max_pages: int = 1000) -> None:
        self.client = client
        self.max_pages = max_pages

    def frameworks(self) -> list[Framework]:
        """Every framework's id and (formatted) full name.

        Raises:
            UndeclaredAnswerError: the answer was ``null`` (see the module docstring).
            LmsError: any other fault of the call.
        """
        answer = self.client.call(GET_FRAMEWORKS)
        if answer is None:
            raise _dropped(GET_FRAMEWORKS.function)
        return answer.items

    def competencies(self, framework_id: int) -> list[Competency]:
        """Every visible competency of the framework, all pages (``next`` followed from 1).

        Raises:
            CompetencyIndexRefusedError: the site refused (feature off, capability missing).
            UndeclaredAnswerError: the answer was ``null``.
            LmsResponseError: fewer rows than the answer's ``total`` (paging not understood).
        """
        found: list[Competency] = []
        page: int | None = 1
        total: int | None = None
        for _ in range(self.max_pages):
            if page is None:
                break
            answer = self._index(framework_id, page)
            found += answer.items
            total = answer.total if answer.total is not None else total
            page = answer.next if answer.next and answer.next != page else None
        if total is not None and total != len(found):
            raise e.LmsResponseError(
                f"read {len(found)} of {total} competencies of framework {framework_id}: the "
                f"paging (page from 1, follow `next`) is not what this site does ({_DOCS})",
                wsfunction=COMPETENCY_INDEX.function)
        return found

    def _index(self, framework_id: int, page: int) -> CompetencyPage:
        function = COMPETENCY_INDEX.function
        try:
            answer = self.client.call(COMPETENCY_INDEX, CompetencyIndex(
                filters=IndexFilters(framework=framework_id), page=page))
        except (e.FunctionNotInServiceError, e.UnknownFunctionError, e.InvalidTokenError):
            raise
        except e.MoodleError as exc:
            raise CompetencyIndexRefusedError(
                f"{function} was refused ({exc}); it needs Totara's competency_assignment "
                "feature (Administration > Development > Experimental > Advanced features, "
                "Competency assignment) and the token's user needs "
                "totara/competency:view_assignments or totara/hierarchy:viewcompetency. "
                "Nothing was written", wsfunction=function) from exc
        if answer is None:
            raise _dropped(function)
        return answer

    def linked_courses(self, competency_id: int) -> list[LinkedCourse]:
        """The competency's linked courses as Totara holds them now."""
        return self.client.call(GET_LINKED_COURSES,
                                CompetencyId(competency_id=competency_id)).items

    def set_linked_courses(self, competency_id: int,
                           courses: Sequence[tuple[int, bool]]) -> None:
        """Replace the competency's whole list with ``courses`` (course id, mandatory)."""
        self.client.call(SET_LINKED_COURSES, SetLinkedCourses(
            competency_id=competency_id,
            courses=[CourseLinkParam(id=i, mandatory=m) for i, m in courses]))

    @property
    def stats(self) -> Any:
        return self.client.stats

    @property
    def concurrency(self) -> int:
        return self.client.concurrency
