"""The Totara client: typed GraphQL operations over one transport, cursors followed to the end.

    client = TotaraClient(TotaraTransport(url, ClientCredentials(client_id, secret)))
    client.status()                      # {"status": "ok"}
    users = client.users()               # every page, each under the per-query complexity limit

Every method is a thin wrapper over :meth:`TotaraClient.call` (one operation, typed answer) or
:meth:`TotaraClient.all_pages` (a paginated query, ``next_cursor`` followed until empty).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from connector import errors as e
from connector.pacing import CallStats
from connector.totara import models as m
from connector.totara import operations as ops
from connector.totara.transport import TotaraTransport

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")
#: A cursor loop longer than this is a site bug (a cursor that never ends), not data.
MAX_PAGES = 10_000


class TotaraClient:
    """Runs lms-sidecar's GraphQL operations on one Totara site."""

    def __init__(self, transport: TotaraTransport, *, concurrency: int = 4) -> None:
        self.transport = transport
        #: How many calls a caller may run at once (the transport's pool is sized for it).
        self.concurrency = max(1, concurrency)

    def __repr__(self) -> str:
        return f"TotaraClient({self.transport!r})"

    @property
    def stats(self) -> CallStats:
        return self.transport.stats

    # -- the shared machinery ---------------------------------------------------------------

    def call(self, op: ops.Operation[R], variables: Mapping[str, object] | None = None) -> R:
        """Send ``op`` and return ``data[op.name]`` validated into its model.

        Raises:
            LmsError: any fault of the call (see :mod:`connector.errors`).
            MutationFailedError: a mutation answered ``success: false``.
            LmsResponseError: the answer does not have the declared shape.
        """
        data = self.transport.execute(op.name, op.text, variables, idempotent=op.idempotent)
        if op.name not in data:
            raise e.LmsResponseError(f"the answer has no data.{op.name}", wsfunction=op.name)
        try:
            value = op.adapter.validate_python(data[op.name])
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
                for err in exc.errors()[:5])
            raise e.LmsResponseError(
                f"unexpected answer shape ({problems}); lms-sidecar's assumptions about this "
                "operation are listed in docs/totara.md", wsfunction=op.name) from exc
        _raise_if_failed(op.name, value)
        return value

    def all_pages(self, op: ops.Operation[m.Page[T]],
                  variables: Mapping[str, Any] | None = None) -> list[T]:
        """Every item of a paginated query: pages of ``op.page_size`` (under the per-query
        complexity limit), each asked with the previous page's ``next_cursor`` until it is
        empty.

        Raises:
            LmsResponseError: the site hands back the same cursor again (it would never end).
        """
        base = dict(variables or {})
        holder = dict(base.get(op.page_variable) or {})
        items: list[T] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            pagination: dict[str, object] = {"limit": op.page_size}
            if cursor:
                pagination["cursor"] = cursor
            page = self.call(op, {**base, op.page_variable: {**holder, "pagination": pagination}})
            items.extend(page.items)
            cursor = page.next_cursor or None
            if cursor is None or not page.items:
                return items
            if cursor in seen:
                break
            seen.add(cursor)
        raise e.LmsResponseError(f"{op.name} keeps returning cursors ({len(items)} items "
                                 "read); the site's pagination does not end",
                                 wsfunction=op.name)

    def offers(self, op: ops.Operation[Any]) -> bool:
        """Whether the site's schema has ``op`` (see :func:`operations.probe_text`); writes
        nothing.

        Raises:
            LmsAuthError, LmsConnectionError, TotaraApiDisabledError: the probe could not tell.
        """
        try:
            self.transport.execute(op.name, ops.probe_text(op), {}, idempotent=True)
        except e.UnknownOperationError:
            return False
        except (e.AccessTokenRejectedError, e.MutationFailedError):
            raise
        except e.GraphQLError as exc:
            # A validation error about the arguments proves the field exists.
            log.debug("probe of %s: %s", op.name, exc.message)
        return True

    # -- operations ---------------------------------------------------------------------------

    def status(self) -> m.Status:
        """``totara_webapi_status``: the API answers and the token is good."""
        return self.call(ops.STATUS)

    def users(self) -> list[m.User]:
        """Every user the API client's service account may see."""
        return self.all_pages(ops.USERS)

    def job_assignments(self) -> list[m.JobAssignment]:
        """Every job assignment the service account may see, with each one's manager."""
        return self.all_pages(ops.JOB_ASSIGNMENTS)

    def managers(self) -> dict[int, list[m.UserRef]]:
        """Each user's managers (by user id), from their job assignments."""
        found: dict[int, list[m.UserRef]] = {}
        for job in self.job_assignments():
            if job.manager is not None:
                found.setdefault(job.user.id, []).append(job.manager)
        return found

    def courses(self) -> list[m.Course]:
        """Every course the service account may see (Totara 18+)."""
        return self.all_pages(ops.COURSES)

    def user_goals(self, user_id: int) -> list[m.Goal]:
        """The perform goals of one user (Totara 18+)."""
        return self.all_pages(ops.USER_GOALS, {"input": {"filters": {"user": {"id": user_id}}}})

    def create_goal(self, fields: Mapping[str, object]) -> m.Goal:
        """``perform_goal_create_goal``; ``fields`` are the contract's input keys."""
        return _goal(ops.CREATE_GOAL.name, self.call(ops.CREATE_GOAL, {"input": dict(fields)}))

    def update_goal(self, goal_id: int, fields: Mapping[str, object]) -> m.Goal:
        result = self.call(ops.UPDATE_GOAL,
                           {"input": {"goal_reference": {"id": goal_id}, **fields}})
        return _goal(ops.UPDATE_GOAL.name, result)

    def delete_goal(self, goal_id: int) -> None:
        self.call(ops.DELETE_GOAL, {"input": {"goal_reference": {"id": goal_id}}})

    def goal_tasks(self, goal_id: int) -> list[m.GoalTask]:
        """The tasks of one goal (Totara 19+)."""
        return self.call(ops.GOAL_TASKS, {"input": {"goal_id": goal_id}})

    def create_goal_task(self, goal_id: int, description: str,
                         course_id: int | None = None) -> m.GoalTask:
        """A task on ``goal_id``, linked to a course as its resource when given (19+)."""
        task: dict[str, object] = {"goal_id": goal_id, "description": description}
        if course_id is not None:
            task |= {"resource_id": course_id, "resource_type": "course"}
        result = self.call(ops.CREATE_GOAL_TASK, {"input": task})
        if result.goal_task is None:
            raise e.LmsResponseError("the answer names no goal task",
                                     wsfunction=ops.CREATE_GOAL_TASK.name)
        return result.goal_task

    def complete_goal_task(self, task_id: int) -> None:
        """Mark a goal task done, as the learner's tick does (19+; input ``{id, completed}``,
        an assumption: see docs/totara.md)."""
        self.call(ops.SET_GOAL_TASK_PROGRESS, {"input": {"id": task_id, "completed": True}})


def _goal(operation: str, result: m.GoalResult) -> m.Goal:
    if result.goal is None:
        raise e.LmsResponseError("the answer names no goal", wsfunction=operation)
    return result.goal


def _raise_if_failed(operation: str, value: object) -> None:
    if getattr(value, "success", True) is not False:
        return
    problems: list[m.MutationError] = list(getattr(value, "errors", []) or [])
    text = "; ".join(f"{p.message} [{p.code}]" if p.code else p.message for p in problems)
    raise e.MutationFailedError(text or "Totara answered success: false",
                                codes=[p.code for p in problems if p.code],
                                wsfunction=operation)
