"""``core_competency`` competencies: CRUD, listing with filters, search, and tree edits."""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import CodingError, InvalidParameterError, PersistentError
from connector.sandbox.exporters import competency, must_get
from connector.sandbox.functions.frameworks import IN_USE_TABLES, MANAGE, VIEW
from connector.sandbox.params import Multiple, Single, dflt, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_competency_competencies")
PROPERTIES = ("shortname", "idnumber", "description", "descriptionformat", "sortorder",
              "parentid", "path", "ruleoutcome", "ruletype", "ruleconfig", "scaleid",
              "scaleconfiguration", "competencyframeworkid", "id", "timecreated",
              "timemodified", "usermodified")
EDITABLE = {"shortname": opt(), "idnumber": opt("raw"), "description": opt("raw"),
            "descriptionformat": opt("int"), "ruletype": opt("raw"), "ruleoutcome": opt("int"),
            "ruleconfig": opt("raw"), "scaleid": opt("int"), "scaleconfiguration": opt("raw")}
CREATE_FIELDS = {**EDITABLE, "shortname": req(), "idnumber": req("raw"),
                 "competencyframeworkid": req("int"), "parentid": dflt("int", 0),
                 "description": dflt("raw", ""), "descriptionformat": dflt("int", 1)}
FILTERS = Multiple(Single({"column": req("alphanumext"), "value": req("raw")}))


def descendants(db: Db, row: dict[str, Any]) -> list[dict[str, Any]]:
    prefix = f"{row['path']}{row['id']}/"
    return db.all("SELECT * FROM competency WHERE path LIKE ? ORDER BY path, sortorder",
                  (prefix + "%",))


def _check_idnumber(db: Db, frameworkid: int, idnumber: str, own_id: int = 0) -> None:
    if db.scalar("SELECT 1 FROM competency WHERE competencyframeworkid = ? AND idnumber = ? "
                 "AND id <> ?", (frameworkid, idnumber, own_id)):
        raise PersistentError("idnumber", "This ID number is already in use")


def _renumber(db: Db, frameworkid: int, parentid: int) -> None:
    siblings = db.all("SELECT id FROM competency WHERE competencyframeworkid = ? AND parentid = ? "
                      "ORDER BY sortorder, id", (frameworkid, parentid))
    for index, sibling in enumerate(siblings):
        db.update("competency", sibling["id"], sortorder=index)


@area.function("core_competency_create_competency", {"competency": Single(CREATE_FIELDS)},
               capability=MANAGE)
def create_competency(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Create a competency; idnumber unique in its framework, parent in the same framework."""
    data = params["competency"]
    fw = must_get(call.db, "competency_framework", data["competencyframeworkid"])
    path = "/0/"
    if data["parentid"]:
        parent = must_get(call.db, "competency", data["parentid"])
        if parent["competencyframeworkid"] != fw["id"]:
            raise PersistentError("parentid", "Data submitted is invalid")
        path = f"{parent['path']}{parent['id']}/"
    _check_idnumber(call.db, fw["id"], data["idnumber"])
    sortorder = call.db.scalar(
        "SELECT COUNT(*) FROM competency WHERE competencyframeworkid = ? AND parentid = ?",
        (fw["id"], data["parentid"]))
    newid = call.db.insert(
        "competency", shortname=data["shortname"], idnumber=data["idnumber"],
        description=data["description"], descriptionformat=data["descriptionformat"],
        sortorder=sortorder, parentid=data["parentid"], path=path,
        ruleoutcome=data.get("ruleoutcome", 0), ruletype=data.get("ruletype"),
        ruleconfig=data.get("ruleconfig"), scaleid=data.get("scaleid"),
        scaleconfiguration=data.get("scaleconfiguration"), competencyframeworkid=fw["id"],
        timecreated=call.now, timemodified=call.now, usermodified=call.userid)
    return competency(must_get(call.db, "competency", newid))


@area.function("core_competency_read_competency", {"id": req("int")}, capability=VIEW)
def read_competency(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return competency(must_get(call.db, "competency", params["id"]))


@area.function("core_competency_update_competency",
               {"competency": Single({"id": req("int"), **EDITABLE})}, capability=MANAGE)
def update_competency(call: Call, params: dict[str, Any]) -> bool:
    data = dict(params["competency"])
    row = must_get(call.db, "competency", data.pop("id"))
    if "idnumber" in data:
        _check_idnumber(call.db, row["competencyframeworkid"], data["idnumber"], row["id"])
    call.db.update("competency", row["id"], **data, timemodified=call.now,
                   usermodified=call.userid)
    return True


@area.function("core_competency_delete_competency", {"id": req("int")}, capability=MANAGE)
def delete_competency(call: Call, params: dict[str, Any]) -> bool:
    """``false`` (no error) when it or a descendant is linked to a course, plan or template."""
    row = must_get(call.db, "competency", params["id"])
    ids = [row["id"]] + [child["id"] for child in descendants(call.db, row)]
    marks = ",".join("?" for _ in ids)
    for table in IN_USE_TABLES:
        if call.db.scalar(f"SELECT 1 FROM {table} WHERE competencyid IN ({marks})", ids):  # noqa: S608
            return False
    call.db.execute(f"DELETE FROM competency WHERE id IN ({marks})", ids)  # noqa: S608
    call.db.execute(f"DELETE FROM competency_relatedcomp WHERE competencyid IN ({marks}) "  # noqa: S608
                    f"OR relatedcompetencyid IN ({marks})", ids + ids)
    _renumber(call.db, row["competencyframeworkid"], row["parentid"])
    return True


def _filtered(call: Call, filters: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    clauses, args = [], []
    for item in filters:
        if item["column"] not in PROPERTIES:
            raise InvalidParameterError("Filter column was invalid")
        if item["column"] == "competencyframeworkid":
            must_get(call.db, "competency_framework", int(item["value"] or 0))
        clauses.append(f"{item['column']} = ?")
        args.append(item["value"])
    where = " AND ".join(clauses) or "1 = 1"
    return where, args


@area.function("core_competency_list_competencies",
               {"filters": FILTERS, "sort": dflt("alphanumext", ""),
                "order": dflt("alphanumext", ""), "skip": dflt("int", 0),
                "limit": dflt("int", 0)}, capability=VIEW)
def list_competencies(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Exact-match filters on any competency column; sort/order; skip and limit (0 = all)."""
    where, args = _filtered(call, params["filters"])
    sort = params["sort"]
    if sort and sort not in PROPERTIES:
        raise InvalidParameterError("Invalid sort")
    order = "DESC" if params["order"].upper() == "DESC" else "ASC"
    ordering = f"{sort} {order}, id" if sort else "id"
    rows = call.db.all(f"SELECT * FROM competency WHERE {where} ORDER BY {ordering}", args)  # noqa: S608
    rows = rows[params["skip"]:]
    if params["limit"]:
        rows = rows[: params["limit"]]
    return [competency(row) for row in rows]


@area.function("core_competency_count_competencies", {"filters": FILTERS}, capability=VIEW)
def count_competencies(call: Call, params: dict[str, Any]) -> int:
    where, args = _filtered(call, params["filters"])
    return int(call.db.scalar(f"SELECT COUNT(*) FROM competency WHERE {where}", args))  # noqa: S608


@area.function("core_competency_search_competencies",
               {"searchtext": req("raw"), "competencyframeworkid": req("int")}, capability=VIEW)
def search_competencies(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Competencies of a framework whose short name or idnumber contains the text."""
    must_get(call.db, "competency_framework", params["competencyframeworkid"])
    like = f"%{params['searchtext']}%"
    rows = call.db.all(
        "SELECT * FROM competency WHERE competencyframeworkid = ? AND "
        "(shortname LIKE ? OR idnumber LIKE ?) ORDER BY path, sortorder, id",
        (params["competencyframeworkid"], like, like))
    return [competency(row) for row in rows]


@area.function("core_competency_set_parent_competency",
               {"competencyid": req("int"), "parentid": req("int")}, capability=MANAGE)
def set_parent_competency(call: Call, params: dict[str, Any]) -> bool:
    """Move a competency (and its subtree) under another parent, last among its new siblings."""
    row = must_get(call.db, "competency", params["competencyid"])
    parentid = params["parentid"]
    if row["parentid"] == parentid:
        return True
    path = "/0/"
    if parentid:
        parent = must_get(call.db, "competency", parentid)
        if parent["competencyframeworkid"] != row["competencyframeworkid"]:
            raise CodingError("Moving competency from one framework to another is not allowed")
        if f"/{row['id']}/" in parent["path"] or parent["id"] == row["id"]:
            raise CodingError("Can not set a competency as a parent of its own descendant")
        path = f"{parent['path']}{parent['id']}/"
    old_prefix = f"{row['path']}{row['id']}/"
    new_prefix = f"{path}{row['id']}/"
    for child in descendants(call.db, row):
        call.db.update("competency", child["id"], path=new_prefix + child["path"][len(old_prefix):])
    sortorder = call.db.scalar(
        "SELECT COUNT(*) FROM competency WHERE competencyframeworkid = ? AND parentid = ?",
        (row["competencyframeworkid"], parentid))
    call.db.update("competency", row["id"], parentid=parentid, path=path, sortorder=sortorder,
                   timemodified=call.now, usermodified=call.userid)
    _renumber(call.db, row["competencyframeworkid"], row["parentid"])
    return True


def _move(call: Call, competencyid: int, step: int) -> bool:
    row = must_get(call.db, "competency", competencyid)
    other = call.db.one(
        "SELECT * FROM competency WHERE competencyframeworkid = ? AND parentid = ? "
        "AND sortorder = ?",
        (row["competencyframeworkid"], row["parentid"], row["sortorder"] + step))
    if other is None:
        return False
    call.db.update("competency", other["id"], sortorder=row["sortorder"], timemodified=call.now)
    call.db.update("competency", row["id"], sortorder=other["sortorder"], timemodified=call.now)
    return True


@area.function("core_competency_move_up_competency", {"id": req("int")}, capability=MANAGE)
def move_up(call: Call, params: dict[str, Any]) -> bool:
    """Swap with the previous sibling; ``false`` when already first."""
    return _move(call, params["id"], -1)


@area.function("core_competency_move_down_competency", {"id": req("int")}, capability=MANAGE)
def move_down(call: Call, params: dict[str, Any]) -> bool:
    """Swap with the next sibling; ``false`` when already last."""
    return _move(call, params["id"], 1)
