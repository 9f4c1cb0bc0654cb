"""Every web-service function the sandbox implements, one module per Moodle area."""

from __future__ import annotations

from connector.sandbox.functions import (
    calendar,
    cohorts,
    competencies,
    completion,
    coursecomp,
    courses,
    coursesearch,
    enrol,
    frameworks,
    messages,
    plans,
    related,
    reportbuilder,
    roles,
    tags,
    users,
    webservice,
)
from connector.sandbox.registry import Area, WsFunction

AREAS: list[Area] = [
    webservice.area, users.area, courses.area, enrol.area, completion.area, frameworks.area,
    competencies.area, related.area, coursecomp.area, plans.area, cohorts.area, calendar.area,
    messages.area, roles.area, reportbuilder.area, tags.area, coursesearch.area,
]
FUNCTIONS: dict[str, WsFunction] = {
    name: function for area in AREAS for name, function in area.functions.items()
}
