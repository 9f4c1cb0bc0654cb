"""``core_role``: assign and unassign roles (for managers: in the learner's user context)."""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import InvalidParameterError
from connector.sandbox.exporters import must_get
from connector.sandbox.params import Multiple, Single, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.schema import CONTEXT_COURSE, CONTEXT_SYSTEM, CONTEXT_USER

area = Area("core_role")
LEVELS = {"system": CONTEXT_SYSTEM, "user": CONTEXT_USER, "course": CONTEXT_COURSE}
ASSIGNMENT = Single({"roleid": req("int"), "userid": req("int"), "contextid": opt("int"),
                     "contextlevel": opt("alphanumext"), "instanceid": opt("int")})


def _context(call: Call, item: dict[str, Any]) -> int:
    if item.get("contextid") is not None:
        row = must_get(call.db, "context", item["contextid"])
        return int(row["id"])
    level = LEVELS.get(str(item.get("contextlevel")))
    if level is None:
        raise InvalidParameterError("Missing parameters, please provide either context level "
                                    "with instance id or contextid")
    instance = item.get("instanceid") or 0
    if level == CONTEXT_USER:
        must_get(call.db, "user", instance)
    elif level == CONTEXT_COURSE:
        must_get(call.db, "course", instance)
    return call.db.context_id(level, 0 if level == CONTEXT_SYSTEM else instance)


def _check_level(call: Call, item: dict[str, Any], contextid: int) -> None:
    role = must_get(call.db, "role", item["roleid"])
    level = call.db.scalar("SELECT contextlevel FROM context WHERE id = ?", (contextid,))
    if str(level) not in role["contextlevels"].split(","):
        raise InvalidParameterError(
            f"Can not assign roleid={item['roleid']} in contextid={item.get('contextid', '')}")


@area.function("core_role_assign_roles", {"assignments": Multiple(ASSIGNMENT)},
               capability="Assign roles to users")
def assign_roles(call: Call, params: dict[str, Any]) -> None:
    """Assign; idempotent; a role not allowed at that context level is ``invalidparameter``."""
    for item in params["assignments"]:
        must_get(call.db, "user", item["userid"])
        contextid = _context(call, item)
        _check_level(call, item, contextid)
        if not call.db.scalar("SELECT 1 FROM role_assignments WHERE roleid = ? AND contextid = ? "
                              "AND userid = ?", (item["roleid"], contextid, item["userid"])):
            call.db.insert("role_assignments", roleid=item["roleid"], contextid=contextid,
                           userid=item["userid"], timemodified=call.now)
    return


@area.function("core_role_unassign_roles", {"unassignments": Multiple(ASSIGNMENT)},
               capability="Assign roles to users")
def unassign_roles(call: Call, params: dict[str, Any]) -> None:
    """Unassign; removing an assignment that is not there is fine."""
    for item in params["unassignments"]:
        contextid = _context(call, item)
        _check_level(call, item, contextid)
        call.db.execute("DELETE FROM role_assignments WHERE roleid = ? AND contextid = ? AND "
                        "userid = ?", (item["roleid"], contextid, item["userid"]))
    return
