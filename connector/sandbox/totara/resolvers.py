"""What each GraphQL operation of the contract answers in the sandbox, with the contract's
shapes: paginated lists as ``{items, total, next_cursor}``, user references as
``{id, username, idnumber, email}``, mutations as ``{success, errors, <record>}``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.sandbox.state import Db, SandboxState

DEFAULT_LIMIT = 20


class NotFoundError(Exception):
    """A referenced record does not exist (Totara: "Invalid parameter value detected")."""


@dataclass(frozen=True)
class Context:
    db: Db
    state: SandboxState
    user: dict[str, Any]
    arguments: dict[str, Any]

    def argument(self, name: str) -> dict[str, Any]:
        value = self.arguments.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def pagination(self) -> dict[str, Any]:
        for name in ("query", "input"):
            found = self.argument(name).get("pagination")
            if isinstance(found, dict):
                return found
        return {}

    @property
    def page_limit(self) -> int:
        return int(self.pagination.get("limit") or DEFAULT_LIMIT)


@dataclass(frozen=True)
class Resolver:
    kind: str
    handler: Callable[[Context], Any]
    argument: str = "input"
    required: bool = False


RESOLVERS: dict[str, Resolver] = {}


def operation(name: str, kind: str = "query", *, argument: str = "input",
              required: bool = False) -> Callable[[Callable[[Context], Any]],
                                                  Callable[[Context], Any]]:
    def register(handler: Callable[[Context], Any]) -> Callable[[Context], Any]:
        RESOLVERS[name] = Resolver(kind, handler, argument, required)
        return handler
    return register


def page(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of ``rows`` by the request's cursor (an opaque offset) and limit."""
    cursor = ctx.pagination.get("cursor")
    offset = int(base64.b64decode(str(cursor)).decode()) if cursor else 0
    limit = ctx.page_limit
    items = rows[offset:offset + limit]
    more = offset + limit < len(rows)
    next_cursor = base64.b64encode(str(offset + limit).encode()).decode() if more else ""
    return {"items": items, "total": len(rows), "next_cursor": next_cursor}


def user_ref(db: Db, userid: int | None) -> dict[str, Any] | None:
    if userid is None:
        return None
    return db.one("SELECT id, username, idnumber, email FROM user WHERE id = ?", (userid,))


def _user_id(db: Db, reference: object) -> int:
    """A user reference ``{id | username | idnumber | email}`` to an id."""
    if not isinstance(reference, dict):
        raise NotFoundError("a user reference is required")
    for key in ("id", "username", "idnumber", "email"):
        if reference.get(key) not in (None, ""):
            found = db.scalar(f"SELECT id FROM user WHERE {key} = ?",  # noqa: S608
                              (reference[key],))
            if found is None:
                raise NotFoundError(f"no user with {key} {reference[key]!r}")
            return int(found)
    raise NotFoundError("the user reference names no id, username, idnumber or email")


@operation("totara_webapi_status")
def status(ctx: Context) -> dict[str, Any]:
    return {"status": "ok", "timestamp": ctx.state.clock.now()}


@operation("core_user_users", argument="query")
def users(ctx: Context) -> dict[str, Any]:
    rows = ctx.db.all("SELECT id, username, idnumber, email FROM user WHERE id > 1 ORDER BY id")
    return page(ctx, rows)


def _job(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "idnumber": row["idnumber"], "user": user_ref(db, row["userid"]),
            "manager": user_ref(db, row["managerid"]), "position": None, "organisation": None,
            "appraiser": None, "temp_manager": None, "start_date": row["start_date"],
            "end_date": row["end_date"]}


@operation("totara_job_job_assignments", argument="query")
def job_assignments(ctx: Context) -> dict[str, Any]:
    rows = ctx.db.all("SELECT * FROM job_assignment ORDER BY id")
    return page(ctx, [_job(ctx.db, row) for row in rows])


@operation("core_course_courses", argument="query")
def courses(ctx: Context) -> dict[str, Any]:
    site = ctx.state.settings.site_url
    rows = ctx.db.all("SELECT id, fullname, summary FROM course WHERE id > 1 ORDER BY id")
    return page(ctx, [{**row, "url": f"{site}/course/view.php?id={row['id']}",
                       "custom_fields": [], "completion": None} for row in rows])


def _goal(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("id", "id_number", "name", "description", "start_date",
                                      "target_date", "target_type", "target_value",
                                      "current_value", "status")}


def _goal_row(db: Db, reference: object) -> dict[str, Any]:
    ref = reference if isinstance(reference, dict) else {}
    key = "id" if ref.get("id") is not None else "id_number"
    row = db.one(f"SELECT * FROM perform_goal WHERE {key} = ?", (ref.get(key),))  # noqa: S608
    if row is None:
        raise NotFoundError(f"no goal with {key} {ref.get(key)!r}")
    return row


def _failed(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"code": code, "message": message}]}


@operation("perform_goal_user_goals")
def user_goals(ctx: Context) -> dict[str, Any]:
    filters = ctx.argument("input").get("filters") or {}
    userid = _user_id(ctx.db, filters.get("user"))
    rows = ctx.db.all("SELECT * FROM perform_goal WHERE userid = ? ORDER BY id", (userid,))
    return page(ctx, [_goal(row) for row in rows])


@operation("perform_goal_view_goal", required=True)
def view_goal(ctx: Context) -> dict[str, Any]:
    return {"goal": _goal(_goal_row(ctx.db, ctx.argument("input").get("goal_reference")))}


@operation("perform_goal_create_goal", "mutation", required=True)
def create_goal(ctx: Context) -> dict[str, Any]:
    data = ctx.argument("input")
    if not data.get("name"):
        return _failed("name_required", "A goal needs a name")
    id_number = data.get("id_number") or None
    userid = _user_id(ctx.db, data.get("user"))
    # Unique per goal owner (the lead's reading of the contract, which does not say).
    if id_number and ctx.db.scalar("SELECT 1 FROM perform_goal WHERE id_number = ? AND "
                                   "userid = ?", (id_number, userid)):
        return _failed("duplicate_id_number", f"The ID number {id_number} is already in use")
    goal_id = ctx.db.insert(
        "perform_goal", userid=userid, id_number=id_number, name=data["name"],
        description=data.get("description") or "", start_date=data.get("start_date"),
        target_date=data.get("target_date"), target_type=data.get("target_type") or "date",
        target_value=data.get("target_value"), current_value=data.get("current_value"),
        status=data.get("status") or "not_started", owner=data.get("owner"),
        context_id=data.get("context_id"))
    return {"success": True, "errors": [],
            "goal": _goal(_goal_row(ctx.db, {"id": goal_id}))}


_GOAL_FIELDS = ("name", "description", "start_date", "target_date", "target_value",
                "current_value", "status")


@operation("perform_goal_update_goal", "mutation", required=True)
def update_goal(ctx: Context) -> dict[str, Any]:
    data = ctx.argument("input")
    row = _goal_row(ctx.db, data.get("goal_reference"))
    changes = {key: data[key] for key in _GOAL_FIELDS if key in data}
    if changes:
        ctx.db.update("perform_goal", row["id"], **changes)
    return {"success": True, "errors": [], "goal": _goal(_goal_row(ctx.db, {"id": row["id"]}))}


@operation("perform_goal_delete_goal", "mutation", required=True)
def delete_goal(ctx: Context) -> dict[str, Any]:
    row = _goal_row(ctx.db, ctx.argument("input").get("goal_reference"))
    ctx.db.execute("DELETE FROM perform_goal_task WHERE goal_id = ?", (row["id"],))
    ctx.db.execute("DELETE FROM perform_goal WHERE id = ?", (row["id"],))
    return {"success": True, "errors": []}


def _task(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "goal_id": row["goal_id"], "description": row["description"],
            "completed": bool(row["completed"]),
            "resource": ({"resource_id": row["resource_id"],
                          "resource_type": row["resource_type"]}
                         if row["resource_id"] else None)}


def _task_row(db: Db, task_id: object) -> dict[str, Any]:
    row = db.one("SELECT * FROM perform_goal_task WHERE id = ?", (task_id,))
    if row is None:
        raise NotFoundError(f"no goal task {task_id!r}")
    return row


@operation("perform_goal_get_goal_tasks", required=True)
def goal_tasks(ctx: Context) -> list[dict[str, Any]]:
    goal = _goal_row(ctx.db, {"id": ctx.argument("input").get("goal_id")})
    rows = ctx.db.all("SELECT * FROM perform_goal_task WHERE goal_id = ? ORDER BY id",
                      (goal["id"],))
    return [_task(row) for row in rows]


@operation("perform_goal_create_goal_task", "mutation", required=True)
def create_goal_task(ctx: Context) -> dict[str, Any]:
    data = ctx.argument("input")
    goal = _goal_row(ctx.db, {"id": data.get("goal_id")})
    if not data.get("description"):
        return _failed("description_required", "A goal task needs a description")
    resource = data.get("resource_id")
    if resource is not None and not ctx.db.scalar("SELECT 1 FROM course WHERE id = ?",
                                                  (resource,)):
        return _failed("invalid_resource", f"No course {resource}")
    task_id = ctx.db.insert("perform_goal_task", goal_id=goal["id"],
                            description=data["description"], resource_id=resource,
                            resource_type=data.get("resource_type"))
    return {"success": True, "errors": [], "goal_task": _task(_task_row(ctx.db, task_id))}


@operation("perform_goal_update_goal_task", "mutation", required=True)
def update_goal_task(ctx: Context) -> dict[str, Any]:
    data = ctx.argument("input")
    row = _task_row(ctx.db, data.get("id"))
    if data.get("description"):
        ctx.db.update("perform_goal_task", row["id"], description=data["description"])
    return {"success": True, "errors": [], "goal_task": _task(_task_row(ctx.db, row["id"]))}


@operation("perform_goal_delete_goal_task", "mutation", required=True)
def delete_goal_task(ctx: Context) -> dict[str, Any]:
    row = _task_row(ctx.db, ctx.argument("input").get("id"))
    ctx.db.execute("DELETE FROM perform_goal_task WHERE id = ?", (row["id"],))
    return {"success": True, "errors": []}


@operation("perform_goal_set_goal_task_progress", "mutation", required=True)
def set_goal_task_progress(ctx: Context) -> dict[str, Any]:
    data = ctx.argument("input")
    row = _task_row(ctx.db, data.get("id"))
    ctx.db.update("perform_goal_task", row["id"], completed=int(bool(data.get("completed"))))
    return {"success": True, "errors": [], "goal_task": _task(_task_row(ctx.db, row["id"]))}


@operation("totara_job_job_assignment", required=True, argument="target_job")
def job_assignment(ctx: Context) -> dict[str, Any]:
    target = ctx.argument("target_job")
    userid = _user_id(ctx.db, target.get("user"))
    row = ctx.db.one("SELECT * FROM job_assignment WHERE userid = ? ORDER BY id LIMIT 1",
                     (userid,))
    if row is None:
        raise NotFoundError(f"user {userid} has no job assignment")
    return _job(ctx.db, row)
