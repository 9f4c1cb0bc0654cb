"""Typed answers of Totara's external GraphQL API, as the contract states them.

Names stay Totara's (``id_number``, ``next_cursor``). Unknown extra fields are ignored, so an
answer with more than lms-sidecar asks for still validates; a missing field is an error that
names the operation.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Status(Model):
    """``totara_webapi_status``: ``{"status": "ok"}`` when the API answers."""

    status: str


class UserRef(Model):
    """A user reference: ``{id, username, idnumber, email}``."""

    id: int
    username: str | None = None
    idnumber: str | None = None
    email: str | None = None


class User(UserRef):
    """An item of ``core_user_users`` (only the reference fields are asked for)."""


class JobAssignment(Model):
    """An item of ``totara_job_job_assignments``; ``manager`` is the manager's user reference."""

    id: int
    idnumber: str | None = None
    user: UserRef
    manager: UserRef | None = None
    start_date: str | None = None
    end_date: str | None = None


class CourseCompletion(Model):
    """``completion`` of ``core_course_courses``: the API user's own, not a learner's."""

    status: str | None = None
    statuskey: str | None = None
    progress: float | None = None
    timecompleted: str | None = None


class Course(Model):
    """An item of ``core_course_courses``."""

    id: int
    fullname: str
    summary: str | None = None
    url: str | None = None


class Goal(Model):
    """A perform goal (``perform_goal_user_goals`` items, ``perform_goal_view_goal``)."""

    id: int
    id_number: str | None = None
    name: str
    description: str | None = None
    start_date: str | None = None
    target_date: str | None = None
    target_value: float | None = None
    current_value: float | None = None
    #: Assumed a plain enum string (``not_started``, ``in_progress``, ``completed``).
    status: str | None = None


class GoalTask(Model):
    """A goal task (Totara 19+): a description, optionally a course as its resource."""

    id: int
    goal_id: int | None = None
    description: str | None = None
    completed: bool = False


class MutationError(Model):
    code: str | None = None
    message: str


class Page(Model, Generic[T]):
    """One page of a paginated query: ``{items, total, next_cursor}``."""

    items: list[T]
    total: int | None = None
    next_cursor: str | None = None


class GoalResult(Model):
    """What goal mutations return: the goal (or nothing), with ``success``/``errors`` in data
    on the newer ones."""

    success: bool = True
    errors: list[MutationError] = Field(default_factory=list)
    goal: Goal | None = None


class GoalTaskResult(Model):
    success: bool = True
    errors: list[MutationError] = Field(default_factory=list)
    goal_task: GoalTask | None = None


class Deleted(Model):
    success: bool = True
    errors: list[MutationError] = Field(default_factory=list)
