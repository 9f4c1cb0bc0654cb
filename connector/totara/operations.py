"""Each GraphQL operation lms-sidecar sends to Totara, declared once: text, answer, release.

A declaration is the fixed query text (variables carry every value, nothing is pasted into the
text), the model of ``data[<name>]``, whether sending it twice is harmless, whether it is
paginated, and the Totara release the contract says it arrives in. The shared machinery in
:class:`connector.totara.client.TotaraClient` sends, validates and follows cursors.

Assumptions (docs/totara.md lists them all): input type names follow Totara's convention
``<operation>_query`` for list queries and ``<operation>_input`` for mutations and filtered
queries; goal mutations answer ``{success, errors{code message}, goal{...}}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import TypeAdapter

from connector.totara import models as m

R = TypeVar("R")

#: Per-query complexity limit of a default Totara site (contract: 6,000).
QUERY_COMPLEXITY_LIMIT = 6000
#: What a query costs before its fields (contract: 5; a mutation costs 10).
QUERY_BASE_COST = 5
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Operation(Generic[R]):
    """One GraphQL operation: its name (the top-level field), its text, its answer."""

    name: str
    kind: Literal["query", "mutation"]
    text: str
    result: Any
    since: str = "17"
    idempotent: bool = True
    paginated: bool = False
    #: The variable that carries ``pagination`` (``query`` or ``input``).
    page_variable: str = "query"

    @cached_property
    def adapter(self) -> TypeAdapter[R]:
        return TypeAdapter(self.result)

    @cached_property
    def fields_per_record(self) -> int:
        """Fields asked for each item of a page (each costs 1 per record)."""
        match = re.search(r"\bitems\s*\{", self.text)
        if match is None:
            return 1
        depth, start, end = 1, match.end(), match.end()
        while depth and end < len(self.text):
            depth += {"{": 1, "}": -1}.get(self.text[end], 0)
            end += 1
        return len(re.findall(r"\b[a-z_][a-z0-9_]*\b", self.text[start:end - 1]))

    @cached_property
    def page_size(self) -> int:
        """The largest page whose cost stays under the per-query complexity limit."""
        budget = QUERY_COMPLEXITY_LIMIT - QUERY_BASE_COST - 10  # total, next_cursor, items
        return max(1, min(MAX_PAGE_SIZE, budget // self.fields_per_record))


def _mutation(name: str, record: str = "") -> str:
    """The text of mutation ``name`` (its input ``<name>_input!``), asking for Totara's business
    result ``{success, errors{code message}}`` and, when given, the ``record`` selection."""
    selection = f"{record} " if record else ""
    return (f"mutation {name}($input: {name}_input!) {{ {name}(input: $input) {{ "
            f"success errors {{ code message }} {selection}}} }}")


_USER = "id username idnumber email"
_GOAL = ("id id_number name description start_date target_date target_value current_value "
         "status")
_TASK = "id goal_id description completed"
_GOAL_RECORD = f"goal {{ {_GOAL} }}"
_TASK_RECORD = f"goal_task {{ {_TASK} }}"

STATUS: Operation[m.Status] = Operation(
    "totara_webapi_status", "query",
    "query totara_webapi_status { totara_webapi_status { status } }", m.Status)

USERS: Operation[m.Page[m.User]] = Operation(
    "core_user_users", "query",
    "query core_user_users($query: core_user_users_query) { core_user_users(query: $query) "
    f"{{ items {{ {_USER} }} total next_cursor }} }}", m.Page[m.User], paginated=True)

JOB_ASSIGNMENTS: Operation[m.Page[m.JobAssignment]] = Operation(
    "totara_job_job_assignments", "query",
    "query totara_job_job_assignments($query: totara_job_job_assignments_query) { "
    "totara_job_job_assignments(query: $query) { items { id idnumber "
    f"user {{ {_USER} }} manager {{ {_USER} }} start_date end_date }} total next_cursor }} }}",
    m.Page[m.JobAssignment], paginated=True)

COURSES: Operation[m.Page[m.Course]] = Operation(
    "core_course_courses", "query",
    "query core_course_courses($query: core_course_courses_query) { core_course_courses("
    "query: $query) { items { id fullname summary url } total next_cursor } }",
    m.Page[m.Course], since="18", paginated=True)

USER_GOALS: Operation[m.Page[m.Goal]] = Operation(
    "perform_goal_user_goals", "query",
    "query perform_goal_user_goals($input: perform_goal_user_goals_input) { "
    f"perform_goal_user_goals(input: $input) {{ items {{ {_GOAL} }} total next_cursor }} }}",
    m.Page[m.Goal], since="18", paginated=True, page_variable="input")

VIEW_GOAL: Operation[m.GoalResult] = Operation(
    "perform_goal_view_goal", "query",
    "query perform_goal_view_goal($input: perform_goal_view_goal_input!) { "
    f"perform_goal_view_goal(input: $input) {{ goal {{ {_GOAL} }} }} }}",
    m.GoalResult, since="18")

CREATE_GOAL: Operation[m.GoalResult] = Operation(
    "perform_goal_create_goal", "mutation",
    _mutation("perform_goal_create_goal", _GOAL_RECORD), m.GoalResult, since="18", idempotent=False)

UPDATE_GOAL: Operation[m.GoalResult] = Operation(
    "perform_goal_update_goal", "mutation",
    _mutation("perform_goal_update_goal", _GOAL_RECORD), m.GoalResult, since="18")

DELETE_GOAL: Operation[m.Deleted] = Operation(
    "perform_goal_delete_goal", "mutation",
    _mutation("perform_goal_delete_goal"), m.Deleted, since="18")

GOAL_TASKS: Operation[list[m.GoalTask]] = Operation(
    "perform_goal_get_goal_tasks", "query",
    "query perform_goal_get_goal_tasks($input: perform_goal_get_goal_tasks_input!) { "
    f"perform_goal_get_goal_tasks(input: $input) {{ {_TASK} }} }}",
    list[m.GoalTask], since="19")

CREATE_GOAL_TASK: Operation[m.GoalTaskResult] = Operation(
    "perform_goal_create_goal_task", "mutation",
    _mutation("perform_goal_create_goal_task", _TASK_RECORD), m.GoalTaskResult, since="19",
    idempotent=False)

UPDATE_GOAL_TASK: Operation[m.GoalTaskResult] = Operation(
    "perform_goal_update_goal_task", "mutation",
    _mutation("perform_goal_update_goal_task", _TASK_RECORD), m.GoalTaskResult, since="19")

DELETE_GOAL_TASK: Operation[m.Deleted] = Operation(
    "perform_goal_delete_goal_task", "mutation",
    _mutation("perform_goal_delete_goal_task"), m.Deleted, since="19")

SET_GOAL_TASK_PROGRESS: Operation[m.GoalTaskResult] = Operation(
    "perform_goal_set_goal_task_progress", "mutation",
    _mutation("perform_goal_set_goal_task_progress", _TASK_RECORD),
    m.GoalTaskResult, since="19")

#: Every operation lms-sidecar may send, by name (``sidecar check`` probes these).
OPERATIONS: dict[str, Operation[Any]] = {op.name: op for op in (
    STATUS, USERS, JOB_ASSIGNMENTS, COURSES, USER_GOALS, VIEW_GOAL, CREATE_GOAL, UPDATE_GOAL,
    DELETE_GOAL, GOAL_TASKS, CREATE_GOAL_TASK, UPDATE_GOAL_TASK, DELETE_GOAL_TASK,
    SET_GOAL_TASK_PROGRESS)}


def probe_text(op: Operation[Any]) -> str:
    """A request that names ``op`` without arguments and asks only for ``__typename``.

    GraphQL validates a document before running any of it: a site without the operation
    answers "Cannot query field ..."; a site with it answers that a required argument is
    missing (or, for one without required arguments, runs a read that costs a few points).
    Nothing is ever written, mutations included.
    """
    return f"{op.kind} probe_{op.name} {{ {op.name} {{ __typename }} }}"
