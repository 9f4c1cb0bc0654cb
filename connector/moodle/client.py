"""The Moodle client: typed calls of declared endpoints over one transport.

    client = MoodleClient(MoodleTransport(url, StaticToken(token)))
    site = client.site_info()
    users = client.users_by_field("id", range(1, 5000))   # batched under max_input_vars

Every method is a thin wrapper over :meth:`MoodleClient.call`, which validates the
parameters (nothing invalid is sent), splits long lists into batches that PHP's
``max_input_vars`` cannot truncate, runs batches concurrently up to ``concurrency``, and
validates the answer into the endpoint's type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import ValidationError

from connector.errors import LmsRequestTooLargeError, LmsResponseError
from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.encoding import split_batches
from connector.moodle.transport import MoodleTransport
from connector.pacing import CallStats

log = logging.getLogger(__name__)

R = TypeVar("R")


class MoodleClient:
    """Calls Moodle web-service functions on one site, with typed parameters and answers."""

    def __init__(self, transport: MoodleTransport, *, concurrency: int = 4) -> None:
        self.transport = transport
        self.concurrency = max(1, concurrency)

    def __repr__(self) -> str:
        return f"MoodleClient({self.transport!r})"

    @property
    def stats(self) -> CallStats:
        """Calls and HTTP requests made so far, per function."""
        return self.transport.stats

    # -- the shared machinery ---------------------------------------------------------------

    def call(self, endpoint: ep.Endpoint[R], params: ep.Params | None = None) -> R:
        """Call ``endpoint`` with validated ``params`` and return its typed answer.

        Raises:
            LmsError: any fault of the call (see :mod:`connector.errors`).
            LmsResponseError: the answer does not have the shape the endpoint declares.
        """
        params = params if params is not None else endpoint.params()
        if not isinstance(params, endpoint.params):
            raise TypeError(f"{endpoint.function} takes {endpoint.params.__name__}")
        form = params.form()
        if endpoint.batch:
            try:
                batches = split_batches(form, endpoint.batch, self.transport.max_input_vars)
            except ValueError as exc:
                raise LmsRequestTooLargeError(str(exc), wsfunction=endpoint.function) from exc
            raws = self._run_all(endpoint, batches)
            raw: object = _merge(endpoint.function, raws)
        else:
            raw = self.transport.call(endpoint.function, form, idempotent=endpoint.idempotent)
        return self._validate(endpoint, raw)

    def map(self, endpoint: ep.Endpoint[R], params: Sequence[ep.Params]) -> list[R]:
        """Make the same call for each of ``params`` concurrently; answers in the same order.

        The first error is raised once every call has finished (none is left running).
        """
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(self.call, endpoint, p) for p in params]
        return [f.result() for f in futures]

    def _run_all(
        self, endpoint: ep.Endpoint[Any], batches: list[dict[str, object]]
    ) -> list[object]:
        def one(form: dict[str, object]) -> object:
            return self.transport.call(endpoint.function, form, idempotent=endpoint.idempotent)

        if len(batches) == 1:
            return [one(batches[0])]
        log.debug("%s split into %d batches", endpoint.function, len(batches))
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(one, b) for b in batches]
        return [f.result() for f in futures]

    @staticmethod
    def _validate(endpoint: ep.Endpoint[R], raw: object) -> R:
        try:
            value = endpoint.adapter.validate_python(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            raise LmsResponseError(f"unexpected answer shape ({problems})",
                                   wsfunction=endpoint.function) from exc
        for warning in getattr(value, "warnings", ()) or ():
            log.warning("%s: Moodle warning %s on %s %s: %s", endpoint.function,
                        warning.warningcode, warning.item, warning.itemid, warning.message)
        return value

    # -- site ---------------------------------------------------------------------------------

    def site_info(self) -> m.SiteInfo:
        """Who the token acts as, the release, and the functions of the token's service."""
        return self.call(ep.GET_SITE_INFO)

    # -- frameworks and competencies --------------------------------------------------------

    def list_frameworks(self) -> list[m.CompetencyFramework]:
        """Every framework in the system context and below, visible or not."""
        return self.call(ep.LIST_FRAMEWORKS, ep.ListFrameworks())

    def read_framework(self, framework_id: int) -> m.CompetencyFramework:
        return self.call(ep.READ_FRAMEWORK, ep.ById(id=framework_id))

    def create_framework(self, fields: ep.FrameworkFields) -> m.CompetencyFramework:
        """Create a framework; ``idnumber``, ``scaleid``, ``scaleconfiguration`` and a context
        are required by Moodle. Raises DuplicateIdnumberError if the idnumber is taken."""
        return self.call(ep.CREATE_FRAMEWORK, ep.FrameworkParams(competencyframework=fields))

    def update_framework(self, fields: ep.FrameworkFields) -> bool:
        return self.call(ep.UPDATE_FRAMEWORK, ep.FrameworkParams(competencyframework=fields))

    def list_competencies(self, **filters: str | int) -> list[m.Competency]:
        """All competencies matching every filter exactly, e.g. ``competencyframeworkid=6``;
        one call however many there are (``limit=0``)."""
        if not filters:
            raise ValueError("list_competencies needs at least one filter")
        params = ep.ListCompetencies(
            filters=[ep.Filter(column=k, value=v) for k, v in filters.items()])
        return self.call(ep.LIST_COMPETENCIES, params)

    def read_competency(self, competency_id: int) -> m.Competency:
        return self.call(ep.READ_COMPETENCY, ep.ById(id=competency_id))

    def create_competency(self, fields: ep.CompetencyFields) -> m.Competency:
        return self.call(ep.CREATE_COMPETENCY, ep.CompetencyParams(competency=fields))

    def update_competency(self, fields: ep.CompetencyFields) -> bool:
        return self.call(ep.UPDATE_COMPETENCY, ep.CompetencyParams(competency=fields))

    def set_parent_competency(self, competency_id: int, parent_id: int) -> bool:
        """Move a competency under another parent (0: to the top level)."""
        return self.call(ep.SET_PARENT_COMPETENCY,
                         ep.SetParent(competencyid=competency_id, parentid=parent_id))

    def move_up_competency(self, competency_id: int) -> bool:
        """Swap with the previous sibling; False when it is already first."""
        return self.call(ep.MOVE_UP_COMPETENCY, ep.ById(id=competency_id))

    def move_down_competency(self, competency_id: int) -> bool:
        """Swap with the next sibling; False when it is already last."""
        return self.call(ep.MOVE_DOWN_COMPETENCY, ep.ById(id=competency_id))

    def delete_competency(self, competency_id: int) -> bool:
        """Delete a competency and its descendants; False when Moodle refuses because one of
        them is linked to a course, in a plan or rated."""
        return self.call(ep.DELETE_COMPETENCY, ep.ById(id=competency_id))

    def relate_competencies(self, competency_id: int, other_id: int, *,
                            related: bool = True) -> bool:
        """Relate two competencies of one framework (``related=False`` removes the relation;
        False then means they were not related)."""
        endpoint = ep.ADD_RELATED_COMPETENCY if related else ep.REMOVE_RELATED_COMPETENCY
        return self.call(endpoint, ep.RelatedPair(competencyid=competency_id,
                                                  relatedcompetencyid=other_id))

    def scale_values(self, scale_id: int) -> tuple[str, ...]:
        """The names of a scale's items, in order (item 1 first)."""
        return tuple(v.name for v in self.call(ep.GET_SCALE_VALUES, ep.ScaleId(scaleid=scale_id)))

    # -- course competencies ------------------------------------------------------------------

    def course_competencies(self, course_id: int) -> list[m.CourseCompetency]:
        """The competencies linked to a course, each with its link (id, rule outcome)."""
        return self.call(ep.LIST_COURSE_COMPETENCIES, ep.ById(id=course_id))

    def add_competency_to_course(self, course_id: int, competency_id: int) -> bool:
        """Link a competency to a course (rule outcome 1, evidence); False when the link
        already existed (Moodle's answer, not an error)."""
        return self.call(ep.ADD_COMPETENCY_TO_COURSE,
                         ep.CourseAndCompetency(courseid=course_id, competencyid=competency_id))

    def remove_competency_from_course(self, course_id: int, competency_id: int) -> bool:
        """Unlink a competency from a course. Raises LmsError when there is no such link."""
        return self.call(ep.REMOVE_COMPETENCY_FROM_COURSE,
                         ep.CourseAndCompetency(courseid=course_id, competencyid=competency_id))

    def set_course_competency_ruleoutcome(self, course_competency_id: int,
                                          outcome: int) -> bool:
        """Set what completing the course does to the competency: 0 nothing, 1 attach
        evidence, 2 recommend, 3 complete. Takes the link's id, not the competency's."""
        return self.call(ep.SET_COURSE_COMPETENCY_RULEOUTCOME,
                         ep.RuleOutcome(coursecompetencyid=course_competency_id,
                                        ruleoutcome=outcome))  # type: ignore[arg-type]

    # -- courses and users --------------------------------------------------------------------

    def courses_by_field(
        self, field: ep.CourseField | None = None, value: str | int | None = None
    ) -> list[m.Course]:
        """Courses by ``id``, ``ids`` (comma-separated), ``shortname``, ``idnumber`` or
        ``category``; no field gives every course, the site front page left out."""
        answer = self.call(ep.GET_COURSES_BY_FIELD, ep.CoursesByField(field=field, value=value))
        return [c for c in answer.courses if c.format != "site"]

    def users_by_field(self, field: ep.UserField, values: Iterable[str | int]) -> list[m.User]:
        """Users whose ``field`` (id, idnumber, username, email) is one of ``values``;
        unknown values are simply absent from the answer."""
        return self.call(ep.GET_USERS_BY_FIELD, ep.UsersByField(field=field, values=list(values)))


    # -- learning plans and roles -------------------------------------------------------------

    def create_plan(self, fields: ep.PlanFields) -> m.Plan:
        """Create a learning plan (``name`` and ``userid`` required). Not idempotent."""
        return self.call(ep.CREATE_PLAN, ep.PlanParams(plan=fields))

    def read_plan(self, plan_id: int) -> m.Plan:
        """Raises RecordNotFoundError when the plan was deleted (contract 133)."""
        return self.call(ep.READ_PLAN, ep.ById(id=plan_id))

    def user_plans(self, user_id: int) -> list[m.Plan]:
        """Every plan of one user, newest first."""
        return self.call(ep.LIST_USER_PLANS, ep.UserId(userid=user_id))

    def update_plan(self, fields: ep.PlanFields) -> m.Plan:
        """Change a plan's fields; refused on a completed plan (reopen it first)."""
        return self.call(ep.UPDATE_PLAN, ep.PlanParams(plan=fields))

    def plan_competencies(self, plan_id: int) -> list[m.PlanCompetency]:
        """A plan's competencies in the plan's order, each with the learner's rating."""
        return self.call(ep.LIST_PLAN_COMPETENCIES, ep.ById(id=plan_id))

    def add_competency_to_plan(self, plan_id: int, competency_id: int) -> bool:
        return self.call(ep.ADD_COMPETENCY_TO_PLAN,
                         ep.PlanAndCompetency(planid=plan_id, competencyid=competency_id))

    def remove_competency_from_plan(self, plan_id: int, competency_id: int) -> bool:
        return self.call(ep.REMOVE_COMPETENCY_FROM_PLAN,
                         ep.PlanAndCompetency(planid=plan_id, competencyid=competency_id))

    def approve_plan(self, plan_id: int) -> bool:
        """Draft to active."""
        return self.call(ep.APPROVE_PLAN, ep.ById(id=plan_id))

    def complete_plan(self, plan_id: int) -> bool:
        """Active to complete; the ratings are archived in the plan."""
        return self.call(ep.COMPLETE_PLAN, ep.PlanId(planid=plan_id))

    def reopen_plan(self, plan_id: int) -> bool:
        """Complete to active; the archived ratings are dropped."""
        return self.call(ep.REOPEN_PLAN, ep.PlanId(planid=plan_id))

    def delete_plan(self, plan_id: int) -> bool:
        return self.call(ep.DELETE_PLAN, ep.ById(id=plan_id))

    def assign_roles(self, assignments: Sequence[ep.RoleAssignment], *,
                     assign: bool = True) -> None:
        """Assign (or with ``assign=False`` unassign) roles; both are idempotent, batched
        under max_input_vars. Raises InvalidParameterError for a role not assignable in
        the context (Moodle gives no other reason, contract 142)."""
        if assign:
            self.call(ep.ASSIGN_ROLES, ep.AssignRoles(assignments=list(assignments)))
        else:
            self.call(ep.UNASSIGN_ROLES, ep.UnassignRoles(unassignments=list(assignments)))

    def courses_using_competency(self, competency_id: int) -> list[m.CourseSummary]:
        """The courses linked to one competency."""
        return self.call(ep.LIST_COURSES_USING_COMPETENCY, ep.ById(id=competency_id))

    def course_completion(self, course_id: int, user_id: int) -> m.CourseCompletion:
        """Raises MoodleError ``nocriteriaset`` or ``nottracked`` (contract 10)."""
        return self.call(ep.GET_COURSE_COMPLETION_STATUS,
                         ep.CourseAndUser(courseid=course_id, userid=user_id))


    # -- messages, calendar, enrolments (follow-ups) -----------------------------------------

    def send_messages(self, messages: Sequence[ep.OutgoingMessage]) -> list[m.SentMessage]:
        """Send instant messages from the token's user, one result per message in order
        (``msgid`` -1 with ``errormessage`` when refused). Batched under max_input_vars; not
        retried once the request may have reached the site."""
        return self.call(ep.SEND_INSTANT_MESSAGES, ep.SendMessages(messages=list(messages)))

    def messages_sent(self, sender_id: int, recipient_id: int, limit: int = 50) -> list[m.Message]:
        """What ``sender_id`` sent ``recipient_id``, read or not, newest first (contract 145)."""
        answer = self.call(ep.GET_MESSAGES, ep.GetMessages(
            useridto=recipient_id, useridfrom=sender_id, type="conversations", read=2,
            newestfirst=True, limitnum=limit))
        return list(answer.messages)

    def create_calendar_events(self, events: Sequence[ep.CalendarEventIn]) -> list[m.CalendarEvent]:
        """Create calendar events; ``user`` events land in the token user's own calendar."""
        return list(self.call(ep.CREATE_CALENDAR_EVENTS,
                              ep.CalendarEventsIn(events=list(events))).events)

    def enrolled_users(self, course_id: int, *, only_active: bool = True) -> list[m.EnrolledUser]:
        """The course's participants (only active enrolments by default), ids and names."""
        options = [ep.EnrolOption(name="userfields", value="id,firstname,lastname")]
        if only_active:
            options.append(ep.EnrolOption(name="onlyactive", value="1"))
        return self.call(ep.GET_ENROLLED_USERS, ep.EnrolledUsers(courseid=course_id,
                                                                 options=options))

    # -- reports ----------------------------------------------------------------------------

    def report_page(self, report_id: int, page: int, perpage: int) -> m.Report:
        """One page (from 0) of a Report builder custom report; cells are display strings."""
        return self.call(ep.RETRIEVE_REPORT,
                         ep.RetrieveReport(reportid=report_id, page=page, perpage=perpage))


def _merge(function: str, answers: list[object]) -> object:
    if len(answers) == 1:
        return answers[0]
    if all(a is None for a in answers):
        return None
    lists = [a for a in answers if isinstance(a, list)]
    if len(lists) == len(answers):
        return [item for a in lists for item in a]
    raise LmsResponseError("batched answers cannot be combined (not lists)", wsfunction=function)
