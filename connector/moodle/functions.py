"""Which Moodle web-service functions each feature of lms-sidecar needs, and why.

This is the one list: ``sidecar check`` compares it with the functions of the token's
external service, and the admin guide prints it. A feature may only call functions listed
here for it (a test enforces that every declared endpoint is listed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """A switchable capability of lms-sidecar (``features.<key>`` in the config)."""

    key: str
    title: str
    site_setting: str | None = None  # an advanced feature the site must have on


@dataclass(frozen=True)
class Requirement:
    """One function a feature calls; ``optional`` ones only enable an extra."""

    feature: str
    function: str
    why: str
    optional: bool = False


CORE = Feature("core", "Connection")
FEATURES: tuple[Feature, ...] = (
    CORE,
    Feature("frameworks", "Competency framework sync", site_setting="enablecompetencies"),
    Feature("skills_map", "Course-to-competency links", site_setting="enablecompetencies"),
    Feature("goals", "Goals as learning plans", site_setting="enablecompetencies"),
    Feature("followups", "Follow-up practice after completions", site_setting="enablecompletion"),
)

_R = Requirement
REQUIREMENTS: tuple[Requirement, ...] = (
    _R("core", "core_webservice_get_site_info", "learn the release, the user and the service"),
    # frameworks
    _R("frameworks", "core_competency_list_competency_frameworks", "read the site's frameworks"),
    _R("frameworks", "core_competency_read_competency_framework", "read one framework"),
    _R("frameworks", "core_competency_create_competency_framework", "create frameworks"),
    _R("frameworks", "core_competency_update_competency_framework", "update frameworks"),
    _R("frameworks", "core_competency_list_competencies", "read a framework's tree"),
    _R("frameworks", "core_competency_read_competency", "read one competency"),
    _R("frameworks", "core_competency_create_competency", "create competencies"),
    _R("frameworks", "core_competency_update_competency", "update competencies"),
    _R("frameworks", "core_competency_set_parent_competency", "move competencies"),
    _R("frameworks", "core_competency_move_up_competency", "keep the source's order"),
    _R("frameworks", "core_competency_move_down_competency", "keep the source's order"),
    _R("frameworks", "core_competency_add_related_competency",
       "keep cross references (related competencies)"),
    _R("frameworks", "core_competency_remove_related_competency",
       "drop cross references gone from the source"),
    _R("frameworks", "core_competency_get_scale_values",
       "name scale values when pulling a framework to a file"),
    _R("frameworks", "core_competency_delete_competency",
       "delete competencies gone from the source (on_missing: delete)", optional=True),
    # skills map
    _R("skills_map", "core_course_get_courses_by_field", "find courses"),
    _R("skills_map", "core_competency_list_course_competencies", "read a course's links"),
    _R("skills_map", "core_competency_add_competency_to_course", "link a course"),
    _R("skills_map", "core_competency_remove_competency_from_course", "unlink a course"),
    _R("skills_map", "core_competency_set_course_competency_ruleoutcome", "set rule outcomes"),
    _R("skills_map", "core_tag_get_tag_areas", "find the course tag area (course tags in "
       "`map suggest`)", optional=True),
    _R("skills_map", "core_tag_get_tag_cloud", "list the tags in use", optional=True),
    _R("skills_map", "core_tag_get_tagindex_per_area", "find which tags are on courses",
       optional=True),
    _R("skills_map", "core_course_search_courses", "find the courses with a tag",
       optional=True),
    # goals
    _R("goals", "core_user_get_users_by_field", "find employees"),
    _R("goals", "core_competency_list_user_plans", "read an employee's plans"),
    _R("goals", "core_competency_read_plan", "read a plan"),
    _R("goals", "core_competency_create_plan", "create a plan per goal"),
    _R("goals", "core_competency_update_plan", "update a plan"),
    _R("goals", "core_competency_list_plan_competencies", "read a plan's competencies"),
    _R("goals", "core_competency_add_competency_to_plan", "add a goal's competencies"),
    _R("goals", "core_competency_remove_competency_from_plan", "remove competencies"),
    _R("goals", "core_competency_complete_plan", "complete a plan when a goal is done"),
    _R("goals", "core_competency_reopen_plan", "reopen a plan when a goal reopens"),
    _R("goals", "core_competency_approve_plan",
       "make a draft plan active before completing it (a goal done)"),
    _R("goals", "tool_lp_list_courses_using_competency",
       "list the courses of a goal's competencies in `goals report`", optional=True),
    _R("goals", "core_completion_get_course_completion_status",
       "read the learner's completion of those courses in `goals report`"),
    _R("goals", "core_competency_delete_plan", "delete a withdrawn goal's plan",
       optional=True),
    _R("goals", "core_role_assign_roles", "give the manager a role in the employee's context"),
    _R("goals", "core_role_unassign_roles", "remove it when the manager changes"),
    # follow-ups
    _R("followups", "core_user_get_users_by_field", "find learners"),
    _R("followups", "core_course_get_courses_by_field", "find courses"),
    _R("followups", "core_enrol_get_enrolled_users", "find a course's learners"),
    _R("followups", "core_completion_get_course_completion_status", "poll completions"),
    _R("followups", "core_message_send_instant_messages", "send practice tasks"),
    _R("followups", "core_message_get_messages", "avoid sending a task twice"),
    _R("followups", "core_competency_list_user_plans",
       "stop a sequence once its competency is rated proficient in a learner's plan",
       optional=True),
    _R("followups", "core_competency_list_plan_competencies",
       "read the ratings in those plans (followups.stop_when_proficient)", optional=True),
    _R("followups", "core_calendar_create_calendar_events", "put practice tasks in the calendar",
       optional=True),
    _R("followups", "core_reportbuilder_retrieve_report",
       "read completions from a Report builder report in one call per page", optional=True),
)


def feature(key: str) -> Feature:
    """The feature with that key. Raises KeyError for an unknown key."""
    for f in FEATURES:
        if f.key == key:
            return f
    raise KeyError(key)


def requirements_for(keys: list[str] | tuple[str, ...]) -> list[Requirement]:
    """The requirements of the given features, core always included, in list order."""
    wanted = {"core", *keys}
    return [r for r in REQUIREMENTS if r.feature in wanted]
