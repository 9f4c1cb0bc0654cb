"""Each Moodle web-service function lms-sidecar calls, declared once.

A declaration names the function, the model of its parameters and the type of its
answer; the shared machinery in :class:`connector.moodle.client.MoodleClient` validates
the parameters, encodes, calls, batches and validates the answer. Parameter and answer
shapes are those of the recorded exchanges (``shared/moodle-contract``; file numbers
in the comments).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from connector.moodle import models as m

R = TypeVar("R")

CourseField = Literal["id", "ids", "shortname", "idnumber", "category"]
UserField = Literal["id", "idnumber", "username", "email"]


class Params(BaseModel):
    """Base of parameter models: validated before anything is sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def form(self) -> dict[str, object]:
        """The parameters as nested Python values, unset optional ones left out."""
        return self.model_dump(exclude_none=True, mode="json")


@dataclass(frozen=True)
class Endpoint(Generic[R]):
    """One web-service function: its name, its parameters, its answer.

    ``idempotent``: sending it twice does no harm (reads, updates to fixed values).
    ``batch``: the list parameter to split to stay under the site's ``max_input_vars``;
    the answers of the batches are concatenated.
    """

    function: str
    params: type[Params]
    result: Any
    idempotent: bool = True
    batch: str | None = None

    @cached_property
    def adapter(self) -> TypeAdapter[R]:
        return TypeAdapter(self.result)


# -- parameter models ---------------------------------------------------------------------


class NoParams(Params):
    pass


class ById(Params):
    id: int


class Context(Params):
    """A context by id (``contextid=1`` is the system) or by level and instance (contract 15)."""

    contextid: int | None = None
    contextlevel: Literal["system", "user", "coursecat", "course", "module", "block"] | None = None
    instanceid: int | None = None


class ListFrameworks(Params):
    """contract 16-17"""

    sort: str = "shortname"
    order: Literal["ASC", "DESC"] = "ASC"
    skip: int = 0
    limit: int = 0
    context: Context = Context(contextid=1)
    includes: Literal["self", "parents", "children"] = "children"
    onlyvisible: bool = False
    query: str | None = None


class FrameworkFields(Params):
    """competencyframework[...] of create and update (contract 14, 15, 19)."""

    id: int | None = None
    shortname: str | None = Field(default=None, max_length=100)
    idnumber: str | None = Field(default=None, max_length=100)
    description: str | None = None
    descriptionformat: int | None = None
    visible: bool | None = None
    scaleid: int | None = None
    scaleconfiguration: str | None = None
    contextid: int | None = None
    taxonomies: str | None = None


class FrameworkParams(Params):
    competencyframework: FrameworkFields


class Filter(Params):
    """An exact-match filter of list_competencies: ``competencyframeworkid``, ``parentid``,
    ``idnumber``, ... (contract 28-32)."""

    column: str
    value: str | int


class ListCompetencies(Params):
    """At least one filter is required (contract 31); ``limit=0`` means all (contract 109)."""

    filters: list[Filter] = Field(min_length=1)
    sort: str = "sortorder"
    order: Literal["ASC", "DESC"] = "ASC"
    skip: int | None = None
    limit: int | None = None


class CompetencyFields(Params):
    """competency[...] of create and update (contract 21-27, 35)."""

    id: int | None = None
    shortname: str | None = Field(default=None, max_length=100)
    idnumber: str | None = Field(default=None, max_length=100)
    competencyframeworkid: int | None = None
    parentid: int | None = None
    description: str | None = None
    descriptionformat: int | None = None
    # Rules and a competency's own scale: the fields tool_lp's rule dialogue sends with
    # update_competency (admin/tool/lp/amd/src/competencyactions.js); not in the recording.
    ruletype: str | None = None
    ruleoutcome: int | None = None
    ruleconfig: str | None = None
    scaleid: int | None = None
    scaleconfiguration: str | None = None


class CompetencyParams(Params):
    competency: CompetencyFields


class SetParent(Params):
    """contract 96"""

    competencyid: int
    parentid: int


class RelatedPair(Params):
    competencyid: int
    relatedcompetencyid: int


class ScaleId(Params):
    scaleid: int


class CoursesByField(Params):
    """``field`` empty lists every course incl. the front page (contract 10); ``ids`` takes a
    comma-separated list and fails as a whole on one unknown id (contract 152)."""

    field: CourseField | None = None
    value: str | int | None = None


class UsersByField(Params):
    """contract 04, 05, 150"""

    field: UserField
    values: list[str | int]


class CourseAndCompetency(Params):
    """contract 38, 44"""

    courseid: int
    competencyid: int


class RuleOutcome(Params):
    """contract 42: the course-competency id, not the competency id."""

    coursecompetencyid: int
    ruleoutcome: Literal[0, 1, 2, 3]


class PlanFields(Params):
    """plan[...] of create and update (contract 53, 56, 119): ``status`` only on create
    (0 draft, 1 active); later changes go through approve / complete / reopen."""

    id: int | None = None
    name: str | None = Field(default=None, max_length=100)
    description: str | None = None
    descriptionformat: int | None = None
    userid: int | None = None
    status: Literal[0, 1] | None = None
    duedate: int | None = None


class PlanParams(Params):
    plan: PlanFields


class UserId(Params):
    userid: int


class PlanId(Params):
    """complete_plan and reopen_plan name their parameter ``planid`` (contract 127, 130)."""

    planid: int


class PlanAndCompetency(Params):
    """contract 54, 120"""

    planid: int
    competencyid: int


class RoleAssignment(Params):
    """A role in a context by level and instance; for a manager, the employee's user
    context (contract 134, 139)."""

    roleid: int
    userid: int
    contextlevel: Literal["system", "user", "coursecat", "course", "module", "block"] = "user"
    instanceid: int


class AssignRoles(Params):
    assignments: list[RoleAssignment] = Field(min_length=1)


class UnassignRoles(Params):
    unassignments: list[RoleAssignment] = Field(min_length=1)


class CourseAndUser(Params):
    """contract 157-158"""

    courseid: int
    userid: int


# -- declarations -------------------------------------------------------------------------

GET_SITE_INFO = Endpoint[m.SiteInfo]("core_webservice_get_site_info", NoParams, m.SiteInfo)

LIST_FRAMEWORKS = Endpoint[list[m.CompetencyFramework]](
    "core_competency_list_competency_frameworks", ListFrameworks, list[m.CompetencyFramework])
READ_FRAMEWORK = Endpoint[m.CompetencyFramework](
    "core_competency_read_competency_framework", ById, m.CompetencyFramework)
CREATE_FRAMEWORK = Endpoint[m.CompetencyFramework](
    "core_competency_create_competency_framework", FrameworkParams, m.CompetencyFramework,
    idempotent=False)
UPDATE_FRAMEWORK = Endpoint[bool](
    "core_competency_update_competency_framework", FrameworkParams, bool)

LIST_COMPETENCIES = Endpoint[list[m.Competency]](
    "core_competency_list_competencies", ListCompetencies, list[m.Competency])
READ_COMPETENCY = Endpoint[m.Competency]("core_competency_read_competency", ById, m.Competency)
CREATE_COMPETENCY = Endpoint[m.Competency](
    "core_competency_create_competency", CompetencyParams, m.Competency, idempotent=False)
UPDATE_COMPETENCY = Endpoint[bool](
    "core_competency_update_competency", CompetencyParams, bool)
SET_PARENT_COMPETENCY = Endpoint[bool]("core_competency_set_parent_competency", SetParent, bool)
# move_up / move_down answer false at the edges (contract 101-102); sortorder is per parent.
MOVE_UP_COMPETENCY = Endpoint[bool]("core_competency_move_up_competency", ById, bool,
                                    idempotent=False)
MOVE_DOWN_COMPETENCY = Endpoint[bool]("core_competency_move_down_competency", ById, bool,
                                      idempotent=False)
# false (not an error) when the competency or a descendant is in use (contract 111-113).
DELETE_COMPETENCY = Endpoint[bool]("core_competency_delete_competency", ById, bool,
                                   idempotent=False)

# Not in the recorded contract (Moodle's core_competency external API): both answer a bare
# boolean; adding a pair that exists answers true, removing one that does not, false.
ADD_RELATED_COMPETENCY = Endpoint[bool](
    "core_competency_add_related_competency", RelatedPair, bool)
REMOVE_RELATED_COMPETENCY = Endpoint[bool](
    "core_competency_remove_related_competency", RelatedPair, bool)

# Not in the recorded contract; Moodle's external API: scaleid -> [{id, name}].
GET_SCALE_VALUES = Endpoint[list[m.ScaleValue]](
    "core_competency_get_scale_values", ScaleId, list[m.ScaleValue])

LIST_COURSE_COMPETENCIES = Endpoint[list[m.CourseCompetency]](
    "core_competency_list_course_competencies", ById, list[m.CourseCompetency])
# true when linked, false (not an error) when the link already exists (contract 38, 40).
ADD_COMPETENCY_TO_COURSE = Endpoint[bool](
    "core_competency_add_competency_to_course", CourseAndCompetency, bool)
# A second remove fails (the link is gone), so it is not retried blindly.
REMOVE_COMPETENCY_FROM_COURSE = Endpoint[bool](
    "core_competency_remove_competency_from_course", CourseAndCompetency, bool,
    idempotent=False)
SET_COURSE_COMPETENCY_RULEOUTCOME = Endpoint[bool](
    "core_competency_set_course_competency_ruleoutcome", RuleOutcome, bool)

GET_COURSES_BY_FIELD = Endpoint[m.Courses](
    "core_course_get_courses_by_field", CoursesByField, m.Courses)
GET_USERS_BY_FIELD = Endpoint[list[m.User]](
    "core_user_get_users_by_field", UsersByField, list[m.User], batch="values")

# Learning plans (contract 53-58, 118-133). Creating is not idempotent: a create whose
# answer was lost is looked up by name before it is tried again (sync.goals.apply).
CREATE_PLAN = Endpoint[m.Plan]("core_competency_create_plan", PlanParams, m.Plan,
                               idempotent=False)
READ_PLAN = Endpoint[m.Plan]("core_competency_read_plan", ById, m.Plan)
LIST_USER_PLANS = Endpoint[list[m.Plan]]("core_competency_list_user_plans", UserId, list[m.Plan])
# Refused on a completed plan: codingerror "Completed plan cannot be edited." (contract 129).
UPDATE_PLAN = Endpoint[m.Plan]("core_competency_update_plan", PlanParams, m.Plan)
LIST_PLAN_COMPETENCIES = Endpoint[list[m.PlanCompetency]](
    "core_competency_list_plan_competencies", ById, list[m.PlanCompetency])
ADD_COMPETENCY_TO_PLAN = Endpoint[bool](
    "core_competency_add_competency_to_plan", PlanAndCompetency, bool)
REMOVE_COMPETENCY_FROM_PLAN = Endpoint[bool](
    "core_competency_remove_competency_from_plan", PlanAndCompetency, bool)
# Status changes: each refuses a plan in the wrong status, so none is retried blindly.
APPROVE_PLAN = Endpoint[bool]("core_competency_approve_plan", ById, bool, idempotent=False)
COMPLETE_PLAN = Endpoint[bool]("core_competency_complete_plan", PlanId, bool, idempotent=False)
REOPEN_PLAN = Endpoint[bool]("core_competency_reopen_plan", PlanId, bool, idempotent=False)
DELETE_PLAN = Endpoint[bool]("core_competency_delete_plan", ById, bool, idempotent=False)

# Both answer null and are idempotent (contract 134-135, 139-140); a role not assignable in
# the context is a bare invalidparameter (contract 142). One call runs in one transaction.
ASSIGN_ROLES = Endpoint[None]("core_role_assign_roles", AssignRoles, None,
                              batch="assignments")
UNASSIGN_ROLES = Endpoint[None]("core_role_unassign_roles", UnassignRoles, None,
                                batch="unassignments")

# Listed by the recorded site (contract 01) but not recorded: Moodle 4.5 has it in tool_lp
# only. Course summaries of the courses linked to one competency: one call per competency
# instead of list_course_competencies for every course.
LIST_COURSES_USING_COMPETENCY = Endpoint[list[m.CourseSummary]](
    "tool_lp_list_courses_using_competency", ById, list[m.CourseSummary])
# nocriteriaset / nottracked are errors (contract 10, 63).
GET_COURSE_COMPLETION_STATUS = Endpoint[m.CourseCompletion](
    "core_completion_get_course_completion_status", CourseAndUser, m.CourseCompletion)

# -- follow-ups: messages, calendar events, enrolments ------------------------------------


class OutgoingMessage(Params):
    """messages[i] of send_instant_messages (contract 65, 143): textformat 1 HTML, 2 plain;
    ``clientmsgid`` is echoed back in the answer (never by get_messages)."""

    touserid: int
    text: str = Field(min_length=1)
    textformat: Literal[0, 1, 2, 4] = 1
    clientmsgid: str | None = Field(default=None, max_length=64)


class SendMessages(Params):
    messages: list[OutgoingMessage] = Field(min_length=1)


class GetMessages(Params):
    """contract 144-146: ``read`` 0 unread only, 1 read only, 2 both; ``useridto`` 0 means
    anyone; ``type`` conversations, notifications or both."""

    useridto: int
    useridfrom: int = 0
    type: Literal["both", "conversations", "notifications"] = "both"
    read: Literal[0, 1, 2] = 2
    newestfirst: bool = True
    limitfrom: int = 0
    limitnum: int = 0


class CalendarEventIn(Params):
    """events[i] of create_calendar_events (contract 64): a ``user`` event belongs to the
    token's own user, whatever else is sent."""

    name: str = Field(min_length=1)
    description: str | None = None
    format: int | None = None
    courseid: int | None = None
    eventtype: Literal["user", "course"] = "user"
    timestart: int
    timeduration: int | None = None
    visible: int | None = None


class CalendarEventsIn(Params):
    events: list[CalendarEventIn] = Field(min_length=1)


class EnrolOption(Params):
    name: str
    value: str


class EnrolledUsers(Params):
    """contract 12, 156: ``onlyactive`` leaves out suspended enrolments; ``userfields``
    narrows the answer (``fullname`` always comes)."""

    courseid: int
    options: list[EnrolOption] = Field(default_factory=list)


# Not idempotent: a retry after a lost answer would send the message twice; the dispatcher
# looks a doubtful send up with GET_MESSAGES instead.
SEND_INSTANT_MESSAGES = Endpoint[list[m.SentMessage]](
    "core_message_send_instant_messages", SendMessages, list[m.SentMessage], idempotent=False,
    batch="messages")
GET_MESSAGES = Endpoint[m.Messages]("core_message_get_messages", GetMessages, m.Messages)
CREATE_CALENDAR_EVENTS = Endpoint[m.CalendarEvents](
    "core_calendar_create_calendar_events", CalendarEventsIn, m.CalendarEvents,
    idempotent=False)
GET_ENROLLED_USERS = Endpoint[list[m.EnrolledUser]](
    "core_enrol_get_enrolled_users", EnrolledUsers, list[m.EnrolledUser])



class RetrieveReport(Params):
    """contract 161-162: ``page`` counts from 0."""

    reportid: int
    page: int = 0
    perpage: int = 10


RETRIEVE_REPORT = Endpoint[m.Report](
    "core_reportbuilder_retrieve_report", RetrieveReport, m.Report)

# Tags (tag/classes/external.php, Moodle 3.7+; course/externallib.php for the search).
# No recorded exchanges: parameter names and answers are those of Moodle's definitions.


class TagCloudParams(Params):
    """``limit`` 0 reads every tag (Moodle passes it to the query as its row limit)."""

    tagcollid: int = 0
    limit: int = 0


class TagIndexQuery(Params):
    id: int | None = None
    tag: str | None = None
    tc: int | None = None
    ta: int | None = None


class TagIndexParams(Params):
    tagindex: TagIndexQuery


class SearchCourses(Params):
    """``perpage`` 0 returns every match on one page."""

    criterianame: Literal["search", "tagid"]
    criteriavalue: str
    page: int = 0
    perpage: int = 0


GET_TAG_AREAS = Endpoint[m.TagAreas]("core_tag_get_tag_areas", NoParams, m.TagAreas)
GET_TAG_CLOUD = Endpoint[m.TagCloud]("core_tag_get_tag_cloud", TagCloudParams, m.TagCloud)
GET_TAGINDEX_PER_AREA = Endpoint[list[m.TagIndex]](
    "core_tag_get_tagindex_per_area", TagIndexParams, list[m.TagIndex])
SEARCH_COURSES = Endpoint[m.SearchedCourses](
    "core_course_search_courses", SearchCourses, m.SearchedCourses)

ALL: tuple[Endpoint[Any], ...] = tuple(v for v in list(globals().values())
                                       if isinstance(v, Endpoint))
