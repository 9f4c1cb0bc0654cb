"""Progress on goals, brought back from Moodle and the store, for HR to import.

Per goal and competency: the rating and proficiency in the goal's plan (the archived one once
the plan is complete), the courses linked to the competency and the employee's completion of
each, and the follow-up practice the employee did on it. Costs one user lookup per ~1,000
employees, one call per plan, one per distinct competency (``tool_lp_list_courses_using_
competency``; without it, the course links the skills map made, from the store) and one per
employee and course. :func:`goals_report` is what ``sidecar goals report`` prints and what an
admin page can show.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import store
from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.client import MoodleClient
from store.models import FollowupAnswer, FollowupSequence
from sync.goals.actual import find_users, gather
from sync.goals.model import Goal
from sync.goals.ops import PLAN_KIND, plan_key

if TYPE_CHECKING:
    from sync.goals.job import GoalSync

SKILLS_MAP_LINK_KIND = "course_competency"  # the skills map's rows: "<course id>/<comp id>"
PLAN_STATUS = {0: "draft", 1: "active", 2: "complete", 3: "waiting for review",
               4: "in review"}
PRACTICE_DONE = ("done", "hard")


@dataclass(frozen=True)
class CourseProgress:
    course_id: int
    shortname: str
    completion: str  # completed | not completed | not enrolled | no completion criteria


@dataclass(frozen=True)
class CompetencyProgress:
    idnumber: str
    name: str
    rating: str  # the scale value's name, "" before any rating
    proficient: bool | None  # None: not rated yet (Moodle still says "No")
    courses: tuple[CourseProgress, ...] = ()
    practice_done: int = 0


@dataclass(frozen=True)
class GoalProgress:
    goal_id: str
    employee: str
    title: str
    goal_status: str
    plan_id: int | None
    plan_status: str
    competencies: tuple[CompetencyProgress, ...] = ()
    #: The employee's own progress where the LMS keeps one (Totara: current of target value).
    progress: str = ""


@dataclass
class GoalReport:
    goals: list[GoalProgress] = field(default_factory=list)
    api_calls: int = 0
    course_source: str = "moodle"  # or "store" (the skills map's links)

    def to_json(self) -> str:
        return json.dumps({"api_calls": self.api_calls, "course_source": self.course_source,
                           "goals": [asdict(g) for g in self.goals]}, indent=2,
                          ensure_ascii=False)

    def to_csv(self) -> str:
        """One row per goal and competency (a goal without competencies: one row)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["goal_id", "employee", "title", "goal_status", "plan_id",
                         "plan_status", "competency", "competency_name", "rating", "proficient",
                         "courses", "courses_completed", "practice_done", "progress"])
        for goal in self.goals:
            head = [goal.goal_id, goal.employee, goal.title, goal.goal_status,
                    goal.plan_id or "", goal.plan_status]
            for c in goal.competencies or (None,):
                if c is None:
                    writer.writerow([*head, "", "", "", "", "", "", "", goal.progress])
                    continue
                done = sum(1 for course in c.courses if course.completion == "completed")
                writer.writerow([*head, c.idnumber, c.name, c.rating,
                                 "" if c.proficient is None else ("yes" if c.proficient
                                                                  else "no"),
                                 ";".join(course.shortname for course in c.courses),
                                 f"{done}/{len(c.courses)}", c.practice_done, goal.progress])
        return out.getvalue()


def goals_report(job: GoalSync) -> GoalReport:
    """Progress of every goal of the job's exports that lms-sidecar put into the LMS."""
    return job.report()


@dataclass(frozen=True)
class _Source:
    """What the Moodle report reads from: the client, the store, the site."""

    client: MoodleClient
    sessions: sessionmaker[Session]
    site: str


def moodle_report(client: MoodleClient, sessions: sessionmaker[Session], site: str,
                  employee_key: ep.UserField, goals: Sequence[Goal]) -> GoalReport:
    """Progress of every goal of ``goals`` that has a plan lms-sidecar remembers."""
    job = _Source(client, sessions, site)
    calls = job.client.stats.calls
    users = find_users(job.client, employee_key, [g.employee for g in goals])
    with store.session_scope(job.sessions) as session:
        stored = store.objects_by_external_id(session, job.site, PLAN_KIND)
    planned = [(g, users[g.employee], stored[plan_key(g.goal_id, users[g.employee].id)].lms_id)
               for g in goals if g.employee in users
               and plan_key(g.goal_id, users[g.employee].id) in stored]
    items = gather(job.client, job.client.plan_competencies, [p for _, _, p in planned])
    plans = gather(job.client, job.client.read_plan, [p for _, _, p in planned])
    by_comp = {i.competency.id: i.competency for answer in items
               if not isinstance(answer, e.LmsError) for i in answer}
    courses, source = _courses(job, sorted(by_comp))
    pairs = sorted({(user.id, course.id) for (_, user, _), answer in zip(planned, items,
                                                                           strict=True)
                    if not isinstance(answer, e.LmsError)
                    for i in answer for course in courses.get(i.competency.id, ())})
    completion = dict(zip(pairs, gather(job.client, lambda p: job.client.course_completion(
        p[1], p[0]), pairs), strict=True))
    practice = _practice(job, sorted({u.id for _, u, _ in planned}))
    report = GoalReport(course_source=source)
    for (goal, user, plan_id), answer, plan in zip(planned, items, plans, strict=True):
        report.goals.append(_goal(goal, user, plan_id, answer, plan, courses, completion,
                                  practice))
    report.api_calls = job.client.stats.calls - calls
    return report


def _goal(goal: Goal, user: m.User, plan_id: int,
          answer: list[m.PlanCompetency] | e.LmsError, plan: m.Plan | e.LmsError,
          courses: dict[int, list[m.CourseSummary]],
          completion: dict[tuple[int, int], m.CourseCompletion | e.LmsError],
          practice: dict[tuple[int, int], int]) -> GoalProgress:
    if isinstance(plan, e.RecordNotFoundError) or isinstance(answer, e.LmsError):
        return GoalProgress(goal.goal_id, goal.employee, goal.title, goal.status.value,
                            plan_id, "deleted in Moodle" if isinstance(
                                plan, e.RecordNotFoundError) else f"unreadable: {answer}")
    status = "" if isinstance(plan, e.LmsError) else PLAN_STATUS.get(plan.status, "")
    rows = []
    for item in answer:
        rating = item.rating
        proficient = rating.proficiency if rating else None
        linked = tuple(CourseProgress(c.id, c.shortname, _completion(
            completion.get((user.id, c.id)))) for c in courses.get(item.competency.id, ()))
        rows.append(CompetencyProgress(
            item.competency.idnumber, item.competency.shortname,
            rating.gradename if rating and rating.grade is not None else "", proficient,
            linked, practice.get((user.id, item.competency.id), 0)))
    return GoalProgress(goal.goal_id, goal.employee, goal.title, goal.status.value, plan_id,
                        status, tuple(rows))


def _completion(answer: m.CourseCompletion | e.LmsError | None) -> str:
    if isinstance(answer, m.CourseCompletion):
        return "completed" if answer.completionstatus.completed else "not completed"
    code = getattr(answer, "errorcode", None)
    return {"nottracked": "not enrolled", "usernotenroled": "not enrolled",
            "nocriteriaset": "no completion criteria"}.get(
        str(code), "unknown" if answer is None else f"unreadable ({code or answer})")


def _courses(job: _Source, ids: Sequence[int]) -> tuple[dict[int, list[m.CourseSummary]], str]:
    """Courses per competency from Moodle, or the skills map's links when the function is not
    in the token's service."""
    answers = gather(job.client, job.client.courses_using_competency, list(ids))
    if not any(isinstance(a, e.FunctionNotInServiceError) for a in answers):
        return {i: a for i, a in zip(ids, answers, strict=True)
                if not isinstance(a, e.LmsError)}, "moodle"
    with store.session_scope(job.sessions) as session:
        rows = store.objects_by_external_id(session, job.site, SKILLS_MAP_LINK_KIND)
    found: dict[int, list[m.CourseSummary]] = {}
    for key in rows:
        course, _, competency = key.partition("/")
        if competency.isdigit() and int(competency) in ids:
            found.setdefault(int(competency), []).append(m.CourseSummary(id=int(course)))
    return found, "store"


def _practice(job: _Source, learners: Sequence[int]) -> dict[tuple[int, int], int]:
    """Follow-up practice tasks answered done (or done but hard), per learner and
    competency id."""
    if not learners:
        return {}
    query = (select(FollowupSequence.learner_id, FollowupSequence.competency_id,
                    func.count(FollowupAnswer.id))
             .join(FollowupAnswer, FollowupAnswer.sequence_id == FollowupSequence.id)
             .where(FollowupSequence.site == job.site,
                    FollowupSequence.learner_id.in_(learners),
                    FollowupSequence.competency_id.is_not(None),
                    FollowupAnswer.answer.in_(PRACTICE_DONE))
             .group_by(FollowupSequence.learner_id, FollowupSequence.competency_id))
    with store.session_scope(job.sessions) as session:
        return {(int(learner), int(comp or 0)): int(count)
                for learner, comp, count in session.execute(query)}
