"""``core_competency`` frameworks: create, read, update, list, count, delete."""

from __future__ import annotations

import json
from typing import Any

from connector.sandbox.errors import InvalidParameterError, MissingRecordError, PersistentError
from connector.sandbox.exporters import framework, must_get
from connector.sandbox.params import Single, Spec, dflt, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_competency_frameworks")
MANAGE = "Manage competency frameworks"
VIEW = "View competency frameworks"
IN_USE_TABLES = ("competency_coursecomp", "competency_plancomp", "competency_templatecomp",
                 "competency_usercomp", "competency_usercompplan")

CONTEXT = Single({"contextid": opt("int"), "contextlevel": opt("alphanumext"),
                  "instanceid": opt("int")})
FRAMEWORK_FIELDS = {
    "shortname": req(), "idnumber": req("raw"), "description": dflt("raw", ""),
    "descriptionformat": dflt("int", 1), "visible": dflt("bool", True), "scaleid": req("int"),
    "scaleconfiguration": req("raw"), "contextid": opt("int"), "contextlevel": opt("alphanumext"),
    "instanceid": opt("int"), "taxonomies": dflt("raw", ""),
}
UPDATE_FIELDS = {"id": req("int"), **{
    name: opt(spec.type) for name, spec in FRAMEWORK_FIELDS.items()
    if name not in ("contextid", "contextlevel", "instanceid")}}


def context_from_params(db: Db, given: dict[str, Any]) -> int:
    """Moodle's ``get_context_from_params``: a context id, or the system level."""
    if given.get("contextid") is not None:
        if not db.scalar("SELECT 1 FROM context WHERE id = ?", (given["contextid"],)):
            raise MissingRecordError("context", "id", given["contextid"])
        return int(given["contextid"])
    if given.get("contextlevel") == "system":
        return db.system_context()
    if given.get("contextlevel"):
        raise InvalidParameterError("Invalid context level")
    raise InvalidParameterError("Missing parameters, please provide either context level with "
                                "instance id or contextid")


def check_scale(db: Db, scaleid: int, configuration: str) -> None:
    """A scale configuration names the scale and marks one default and one proficient item."""
    must_get(db, "scale", scaleid)
    try:
        items = json.loads(configuration)
    except ValueError:
        items = None
    valid = (
        isinstance(items, list) and len(items) > 1 and isinstance(items[0], dict)
        and str(items[0].get("scaleid")) == str(scaleid)
        and any(isinstance(i, dict) and i.get("scaledefault") for i in items[1:])
        and any(isinstance(i, dict) and i.get("proficient") for i in items[1:])
    )
    if not valid:
        raise PersistentError(
            "scaleconfiguration",
            "The scale needs to be configured by selecting default and proficient items.",
        )


def framework_in_use(db: Db, frameworkid: int) -> bool:
    for table in IN_USE_TABLES:
        if db.scalar(f"SELECT 1 FROM {table} x JOIN competency c ON c.id = x.competencyid "  # noqa: S608
                     "WHERE c.competencyframeworkid = ? LIMIT 1", (frameworkid,)):
            return True
    return False


@area.function("core_competency_create_competency_framework",
               {"competencyframework": Single(FRAMEWORK_FIELDS)}, capability=MANAGE)
def create_framework(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Create a framework; its idnumber is unique on the site."""
    data = params["competencyframework"]
    contextid = context_from_params(call.db, data)
    if call.db.scalar("SELECT 1 FROM competency_framework WHERE idnumber = ?", (data["idnumber"],)):
        raise PersistentError("idnumber", "This ID number is already in use")
    check_scale(call.db, data["scaleid"], data["scaleconfiguration"])
    frameworkid = call.db.insert(
        "competency_framework", shortname=data["shortname"], idnumber=data["idnumber"],
        description=data["description"], descriptionformat=data["descriptionformat"],
        visible=int(data["visible"]), scaleid=data["scaleid"],
        scaleconfiguration=data["scaleconfiguration"], contextid=contextid,
        taxonomies=data["taxonomies"], timecreated=call.now, timemodified=call.now,
        usermodified=call.userid,
    )
    return framework(call.db, must_get(call.db, "competency_framework", frameworkid))


@area.function("core_competency_read_competency_framework", {"id": req("int")}, capability=VIEW)
def read_framework(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return framework(call.db, must_get(call.db, "competency_framework", params["id"]))


@area.function("core_competency_update_competency_framework",
               {"competencyframework": Single(UPDATE_FIELDS)}, capability=MANAGE)
def update_framework(call: Call, params: dict[str, Any]) -> bool:
    """Change the given fields; returns a bare ``true``."""
    data = dict(params["competencyframework"])
    row = must_get(call.db, "competency_framework", data.pop("id"))
    if "idnumber" in data and call.db.scalar(
        "SELECT 1 FROM competency_framework WHERE idnumber = ? AND id <> ?",
        (data["idnumber"], row["id"]),
    ):
        raise PersistentError("idnumber", "This ID number is already in use")
    if "scaleid" in data or "scaleconfiguration" in data:
        check_scale(call.db, data.get("scaleid", row["scaleid"]),
                    data.get("scaleconfiguration", row["scaleconfiguration"]))
    if "visible" in data:
        data["visible"] = int(data["visible"])
    call.db.update("competency_framework", row["id"], **data, timemodified=call.now,
                   usermodified=call.userid)
    return True


@area.function("core_competency_delete_competency_framework", {"id": req("int")},
               capability=MANAGE)
def delete_framework(call: Call, params: dict[str, Any]) -> bool:
    """``false`` (no error) when any competency is in use; else delete it all and ``true``."""
    row = must_get(call.db, "competency_framework", params["id"])
    if framework_in_use(call.db, row["id"]):
        return False
    call.db.execute("DELETE FROM competency WHERE competencyframeworkid = ?", (row["id"],))
    call.db.execute("DELETE FROM competency_framework WHERE id = ?", (row["id"],))
    return True


LIST_PARAMS: dict[str, Spec] = {
    "sort": dflt("alphanumext", ""), "order": dflt("alphanumext", ""), "skip": dflt("int", 0),
    "limit": dflt("int", 0), "context": CONTEXT, "includes": dflt("alphanumext", "children"),
    "onlyvisible": dflt("bool", False), "query": dflt("raw", ""),
}
SORTABLE = {"id", "shortname", "idnumber", "sortorder", "timecreated", "timemodified",
            "visible", "descriptionformat", "scaleid", "contextid"}


def _matching(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    context_from_params(call.db, params["context"])
    sql = "SELECT * FROM competency_framework WHERE 1 = 1"
    args: list[Any] = []
    if params.get("onlyvisible"):
        sql += " AND visible = 1"
    if params.get("query"):
        sql += " AND (shortname LIKE ? OR idnumber LIKE ?)"
        args += [f"%{params['query']}%"] * 2
    sort = params.get("sort") or "shortname"
    if sort not in SORTABLE:
        raise InvalidParameterError("Invalid sort")
    order = "DESC" if str(params.get("order")).upper() == "DESC" else "ASC"
    return call.db.all(f"{sql} ORDER BY {sort} {order}, id", args)


@area.function("core_competency_list_competency_frameworks", LIST_PARAMS, capability=VIEW)
def list_frameworks(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Frameworks in a context, filtered by ``query``, paged by skip/limit (0 = all)."""
    rows = _matching(call, params)[params["skip"]:]
    if params["limit"]:
        rows = rows[: params["limit"]]
    return [framework(call.db, row) for row in rows]


@area.function("core_competency_count_competency_frameworks",
               {"context": CONTEXT, "includes": dflt("alphanumext", "children")}, capability=VIEW)
def count_frameworks(call: Call, params: dict[str, Any]) -> int:
    return len(_matching(call, params))


@area.function("core_competency_get_scale_values", {"scaleid": req("int")}, capability=VIEW)
def get_scale_values(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The items of a scale, numbered from 1 as scale configurations refer to them."""
    row = must_get(call.db, "scale", params["scaleid"])
    items = [item.strip() for item in str(row["scale"]).split(",")]
    return [{"id": number, "name": name} for number, name in enumerate(items, 1)]
