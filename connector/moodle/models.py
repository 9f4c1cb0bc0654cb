"""Typed answers of the Moodle web-service functions lms-sidecar calls.

Field names are Moodle's own (``courseid``, ``idnumber``) and shapes follow the recorded
exchanges in ``shared/moodle-contract``. Models accept both formats: JSON's numbers and
booleans and XML's strings ("1", "0", "5") validate to the same values. Unknown fields are
ignored, so a newer Moodle that adds fields does not break the client.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MoodleModel(BaseModel):
    """Base of every answer model: immutable, tolerant of extra fields.

    The XML format writes an optional field Moodle left out as ``<VALUE null="null"/>``
    where JSON simply omits it; both come out as the field's default.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _absent_is_default(cls, data: Any) -> Any:
        if not isinstance(data, dict) or None not in data.values():
            return data  # nothing to drop: the C-level scan spares a dict per answer item
        fields = cls.model_fields
        return {k: v for k, v in data.items()
                if v is not None or k not in fields or fields[k].is_required()
                or fields[k].default is None}


class Warning(MoodleModel):
    """A warning Moodle returns beside data (the call still succeeded)."""

    item: str | None = None
    itemid: int | None = None
    warningcode: str | None = None
    message: str = ""


class FunctionInfo(MoodleModel):
    name: str
    version: str | None = None


class AdvancedFeature(MoodleModel):
    name: str
    value: int


class SiteInfo(MoodleModel):
    """core_webservice_get_site_info: who the token acts as and what it may call."""

    sitename: str
    siteurl: str
    username: str
    fullname: str
    userid: int
    release: str = ""
    version: str = ""
    lang: str = ""
    userissiteadmin: bool = False
    functions: tuple[FunctionInfo, ...] = ()
    advancedfeatures: tuple[AdvancedFeature, ...] = ()

    @property
    def function_names(self) -> frozenset[str]:
        """The functions of the token's external service (contract 13: exactly those)."""
        return frozenset(f.name for f in self.functions)

    def feature_enabled(self, name: str) -> bool | None:
        """Whether an advanced feature such as ``enablecompetencies`` is on (None: not said)."""
        for feature in self.advancedfeatures:
            if feature.name == name:
                return bool(feature.value)
        return None


class CompetencyFramework(MoodleModel):
    """A competency framework as Moodle stores it (contract 14-19)."""

    id: int
    shortname: str
    idnumber: str
    description: str = ""
    descriptionformat: int = 1
    visible: bool = True
    scaleid: int
    scaleconfiguration: str
    contextid: int
    taxonomies: str = ""
    timecreated: int = 0
    timemodified: int = 0
    competenciescount: int | None = None


class Competency(MoodleModel):
    """A competency: ``parentid`` 0 at the top, ``path`` like ``/0/1/3/`` (contract 21-34)."""

    id: int
    shortname: str
    idnumber: str
    description: str = ""
    descriptionformat: int = 1
    sortorder: int = 0
    parentid: int = 0
    path: str = "/0/"
    ruleoutcome: int = 0
    ruletype: str | None = None
    ruleconfig: str | None = None
    scaleid: int | None = None
    scaleconfiguration: str | None = None
    competencyframeworkid: int
    timecreated: int = 0
    timemodified: int = 0


class CourseCompetencyLink(MoodleModel):
    """A course's link to a competency: ``ruleoutcome`` 0 none, 1 evidence, 2 recommend,
    3 complete; a new link starts at 1 (contract 41-43)."""

    id: int
    courseid: int
    competencyid: int
    sortorder: int = 0
    ruleoutcome: int = 1


class CourseCompetency(MoodleModel):
    """One entry of core_competency_list_course_competencies (contract 41)."""

    competency: Competency
    coursecompetency: CourseCompetencyLink


class ScaleValue(MoodleModel):
    """One item of a scale (core_competency_get_scale_values), numbered from 1."""

    id: int
    name: str


class Course(MoodleModel):
    """A course as core_course_get_courses_by_field returns it (contract 08-10)."""

    id: int
    shortname: str
    fullname: str
    displayname: str = ""
    idnumber: str = ""
    summary: str = ""
    summaryformat: int = 1
    categoryid: int = 0
    visible: bool = True
    startdate: int = 0
    enddate: int = 0
    enablecompletion: bool = False
    format: str = ""


class Courses(MoodleModel):
    """core_course_get_courses_by_field: courses plus warnings."""

    courses: tuple[Course, ...] = ()
    warnings: tuple[Warning, ...] = ()


class SearchedCourses(MoodleModel):
    """core_course_search_courses: ``total``, the courses (public fields only), warnings
    (course/externallib.php ``search_courses_returns``; no recording)."""

    total: int = 0
    courses: tuple[Course, ...] = ()
    warnings: tuple[Warning, ...] = ()


class TagArea(MoodleModel):
    """One tag area of core_tag_get_tag_areas (tag_area_exporter): where tags can be put,
    e.g. component ``core``, itemtype ``course``, and the collection it belongs to."""

    id: int
    component: str
    itemtype: str
    enabled: bool = True
    tagcollid: int = 0


class TagAreas(MoodleModel):
    areas: tuple[TagArea, ...] = ()
    warnings: tuple[Warning, ...] = ()


class CloudTag(MoodleModel):
    """A tag of core_tag_get_tag_cloud: its display name and instance count (no id)."""

    name: str
    viewurl: str = ""
    count: int = 0


class TagCloud(MoodleModel):
    """core_tag_get_tag_cloud: ``tagscount`` returned of ``totalcount`` tags."""

    tags: tuple[CloudTag, ...] = ()
    tagscount: int = 0
    totalcount: int = 0


class TagIndex(MoodleModel):
    """One area's entry of core_tag_get_tagindex_per_area; only areas with tagged items
    are listed. ``content`` is rendered HTML and is not read."""

    tagid: int
    ta: int
    component: str = ""
    itemtype: str = ""
    hascontent: int = 0


class User(MoodleModel):
    """A user as core_user_get_users_by_field returns it (contract 04, 05, 150)."""

    id: int
    username: str = ""
    firstname: str = ""
    lastname: str = ""
    fullname: str = ""
    email: str = ""
    idnumber: str = ""
    department: str = ""
    suspended: bool = False
    confirmed: bool = True
    lang: str = ""
    timezone: str = ""
    auth: str = Field(default="manual")


class Plan(MoodleModel):
    """A learning plan (contract 53-57, 118-131): ``status`` 0 draft, 1 active, 2 complete
    (3 and 4: waiting for / in review); a ``duedate`` of 0 means none."""

    id: int
    name: str
    description: str = ""
    descriptionformat: int = 1
    userid: int
    templateid: int | None = None
    status: int = 0
    duedate: int = 0
    timecreated: int = 0
    timemodified: int = 0
    usermodified: int = 0


class UserCompetencyRating(MoodleModel):
    """The rating part of ``usercompetency`` or, once the plan is complete,
    ``usercompetencyplan`` (contract 122-128): ``proficiency`` is None before any rating
    while ``proficiencyname`` already reads "No"."""

    userid: int
    competencyid: int
    proficiency: bool | None = None
    grade: int | None = None
    gradename: str = "-"
    proficiencyname: str = ""


class PlanCompetency(MoodleModel):
    """One entry of core_competency_list_plan_competencies."""

    competency: Competency
    usercompetency: UserCompetencyRating | None = None
    usercompetencyplan: UserCompetencyRating | None = None

    @property
    def rating(self) -> UserCompetencyRating | None:
        """The rating that counts: archived in the plan once it is complete, else live."""
        return self.usercompetencyplan or self.usercompetency


class CourseSummary(MoodleModel):
    """A course as core_competency_list_courses_using_competency exports it
    (course_summary_exporter)."""

    id: int
    shortname: str = ""
    fullname: str = ""
    idnumber: str = ""
    visible: bool = True


class CompletionCriterion(MoodleModel):
    """One criterion of a completion status: ``timecompleted`` null until it is met."""

    type: int = 0
    title: str = ""
    complete: bool = False
    timecompleted: int | None = None


class CompletionStatus(MoodleModel):
    """The ``completionstatus`` of core_completion_get_course_completion_status
    (contract 157-158)."""

    completed: bool = False
    aggregation: int = 1
    completions: tuple[CompletionCriterion, ...] = ()


class CourseCompletion(MoodleModel):
    completionstatus: CompletionStatus
    warnings: tuple[Warning, ...] = ()


class SentMessage(MoodleModel):
    """One result of core_message_send_instant_messages (contract 65, 143, 149): a refused
    message has ``msgid`` -1 and an ``errormessage``, not an exception."""

    msgid: int
    clientmsgid: str | None = None
    text: str = ""
    timecreated: int = 0
    conversationid: int = 0
    useridfrom: int = 0
    errormessage: str = ""


class Message(MoodleModel):
    """One message of core_message_get_messages (contract 144-146); no ``clientmsgid``."""

    id: int
    useridfrom: int
    useridto: int
    text: str = ""
    fullmessage: str = ""
    fullmessagehtml: str = ""
    smallmessage: str = ""
    timecreated: int = 0
    timeread: int | None = None


class Messages(MoodleModel):
    messages: tuple[Message, ...] = ()
    warnings: tuple[Warning, ...] = ()


class CalendarEvent(MoodleModel):
    """A created calendar event (contract 64); ``userid`` is the token's own user."""

    id: int
    name: str
    eventtype: str = ""
    courseid: int = 0
    userid: int = 0
    timestart: int = 0
    timeduration: int = 0


class CalendarEvents(MoodleModel):
    events: tuple[CalendarEvent, ...] = ()
    warnings: tuple[Warning, ...] = ()


class EnrolledUser(MoodleModel):
    """A participant of core_enrol_get_enrolled_users (contract 12, 156); empty fields are
    left out by Moodle, ``fullname`` is always there."""

    id: int
    fullname: str = ""
    firstname: str = ""
    lastname: str = ""
    username: str = ""


class ReportRow(MoodleModel):
    columns: tuple[str | int | float | None, ...] = ()


class ReportData(MoodleModel):
    headers: tuple[str, ...] = ()
    rows: tuple[ReportRow, ...] = ()
    totalrowcount: int = 0


class Report(MoodleModel):
    """One page of core_reportbuilder_retrieve_report: every cell is a display string
    ("Sunday, 22 November 2026, 1:34 AM", "100.0%", "" when empty; contract 161-162)."""

    data: ReportData
    warnings: tuple[Warning, ...] = ()
