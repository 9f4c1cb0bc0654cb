"""What a learner does on a Totara site's own pages, as plain functions for tests and demos,
and as admin-only control endpoints for a sandbox in another process:

    GET  /_sandbox/totara/goal-tasks?userid=N        the learner's goal tasks
    POST /_sandbox/totara/goal-tasks/<id>/tick       {"userid": N, "completed": true}

A learner ticks a goal task on their goal's page; Totara records it as the task's
completion, which ``perform_goal_get_goal_tasks`` then reports as ``completed``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from connector.sandbox.admin import admin_only
from connector.sandbox.control import ControlError
from connector.sandbox.state import Db, SandboxState

blueprint = Blueprint("totara_learner", __name__, url_prefix="/_sandbox/totara")


def goal_tasks_of(db: Db, userid: int) -> list[dict[str, Any]]:
    """Every goal task on ``userid``'s perform goals, with its goal's ``id_number``."""
    return db.all(
        "SELECT t.*, g.id_number AS goal_id_number, g.name AS goal_name "
        "FROM perform_goal_task t JOIN perform_goal g ON g.id = t.goal_id "
        "WHERE g.userid = ? ORDER BY t.id", (userid,))


def tick_goal_task(db: Db, userid: int, task_id: int, completed: bool = True) -> None:
    """``userid`` ticks (or unticks) goal task ``task_id`` on their own goal.

    Raises:
        ControlError: no such task, or it is on another user's goal.
    """
    owner = db.scalar("SELECT g.userid FROM perform_goal_task t "
                      "JOIN perform_goal g ON g.id = t.goal_id WHERE t.id = ?", (task_id,))
    if owner is None:
        raise ControlError(f"no goal task {task_id}")
    if owner != userid:
        raise ControlError(f"goal task {task_id} is on user {owner}'s goal, not user {userid}'s")
    db.execute("UPDATE perform_goal_task SET completed = ? WHERE id = ?",
               (int(completed), task_id))


def _state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state


@blueprint.get("/goal-tasks")
@admin_only
def list_goal_tasks() -> Response:
    """The goal tasks of ``?userid=``."""
    with _state().transaction() as db:
        return jsonify(goal_tasks_of(db, int(request.args["userid"])))


@blueprint.post("/goal-tasks/<int:task_id>/tick")
@admin_only
def tick(task_id: int) -> Response:
    """The learner ``userid`` ticks (``completed``, default true) goal task ``task_id``."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    with _state().transaction() as db:
        tick_goal_task(db, int(body["userid"]), task_id, bool(body.get("completed", True)))
    return jsonify({"ok": True})
