"""What a learner does on a Totara site's own pages, as plain functions for tests and demos.

A learner ticks a goal task on their goal's page; Totara records it as the task's
completion, which ``perform_goal_get_goal_tasks`` then reports as ``completed``.
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.control import ControlError
from connector.sandbox.state import Db


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
