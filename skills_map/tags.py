"""Every course's tags, read per tag rather than per course.

Moodle's course functions return no tags (``core_course_get_courses_by_field`` has none), and
no web service lists an item's tags. The tag functions can still say it, without a call per
course:

1. ``core_tag_get_tag_areas``: the course area (component ``core``, itemtype ``course``), its
   id and its tag collection, and whether it is enabled;
2. ``core_tag_get_tag_cloud`` for that collection, ``limit`` 0: every tag name in use (the
   cloud gives names and counts, not ids);
3. per tag, ``core_tag_get_tagindex_per_area`` narrowed to the course area: the tag's id, and
   an answer only when some course carries the tag;
4. per such tag, ``core_course_search_courses`` with ``criterianame=tagid``: the courses.

So ``2 + tags + course tags`` calls, run concurrently. A site whose token's service lacks any
of them, or with tags switched off, gives no tags and a note saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.client import MoodleClient

log = logging.getLogger(__name__)

TAG_FUNCTIONS = (ep.GET_TAG_AREAS, ep.GET_TAG_CLOUD, ep.GET_TAGINDEX_PER_AREA,
                 ep.SEARCH_COURSES)
FUNCTION_NAMES = tuple(endpoint.function for endpoint in TAG_FUNCTIONS)


@dataclass(frozen=True)
class CourseTags:
    """Tag names per course id, how many calls reading them took, and why there are none
    when they could not be read."""

    by_course: dict[int, tuple[str, ...]] = field(default_factory=dict)
    calls: int = 0
    unavailable: str | None = None


def read_course_tags(client: MoodleClient) -> CourseTags:
    """The tags of every course the token's user can see (see the module's docstring).

    Never raises for what makes tags unreadable on a site (functions missing from the
    token's service, tags or the course tag area switched off): the answer says why instead.

    Raises:
        LmsError: any other fault (the site unreachable, a refused token...).
    """
    try:
        return _read(client)
    except (e.FunctionNotInServiceError, e.UnknownFunctionError) as exc:
        return CourseTags(unavailable=(
            f"course tags not read: the token's service lacks {exc.wsfunction} (add "
            f"{', '.join(FUNCTION_NAMES)} to it to use course tags in suggestions)"))
    except e.PermissionDeniedError as exc:
        return CourseTags(unavailable=f"course tags not read: {exc}")
    except e.MoodleError as exc:
        if exc.errorcode != "tagsaredisabled":
            raise
        return CourseTags(unavailable="course tags not read: tags are disabled on the site "
                                      "(Advanced features > Enable tags functionality)")


def _read(client: MoodleClient) -> CourseTags:
    areas = client.call(ep.GET_TAG_AREAS)
    area = next((a for a in areas.areas if (a.component, a.itemtype) == ("core", "course")),
                None)
    if area is None or not area.enabled:
        return CourseTags(calls=1, unavailable=(
            "course tags not read: the site's tag area for courses is off (Site "
            "administration > Appearance > Manage tags > Tag areas > Courses)"))
    cloud = client.call(ep.GET_TAG_CLOUD, ep.TagCloudParams(tagcollid=area.tagcollid, limit=0))
    if cloud.totalcount > cloud.tagscount:
        log.warning("the tag cloud returned %d of %d tags; course tags may be incomplete",
                    cloud.tagscount, cloud.totalcount)
    with ThreadPoolExecutor(max_workers=client.concurrency) as pool:
        found = list(pool.map(lambda tag: _courses_tagged(client, area, tag), cloud.tags))
    by_course: dict[int, list[str]] = {}
    calls = 2 + len(cloud.tags)
    for tag, courses in zip(cloud.tags, found, strict=True):
        calls += 0 if courses is None else 1
        for course in courses or ():
            by_course.setdefault(course.id, []).append(tag.name)
    log.info("course tags: %d tags on %d courses in %d calls", sum(map(len, by_course.values())),
             len(by_course), calls)
    return CourseTags({cid: tuple(sorted(names, key=str.lower)) for cid, names in
                       by_course.items()}, calls)


def _courses_tagged(client: MoodleClient, area: m.TagArea,
                    tag: m.CloudTag) -> Sequence[m.Course] | None:
    """The courses carrying ``tag``; None when no course does (one call instead of two)."""
    query = ep.TagIndexQuery(tag=tag.name, tc=area.tagcollid, ta=area.id)
    try:
        index = client.call(ep.GET_TAGINDEX_PER_AREA, ep.TagIndexParams(tagindex=query))
    except e.MoodleError as exc:
        if exc.errorcode != "notagsfound":
            raise
        # A name Moodle's PARAM_TAG cleaning changes cannot be looked up by name.
        log.warning("tag %r could not be looked up by name; its courses are left out",
                    tag.name)
        return None
    entry = next((i for i in index if i.ta == area.id), None)
    if entry is None:
        return None
    answer = client.call(ep.SEARCH_COURSES, ep.SearchCourses(criterianame="tagid",
                                                             criteriavalue=str(entry.tagid)))
    return answer.courses
