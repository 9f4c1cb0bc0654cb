"""Totara's legacy web services beside the Moodle ones the sandbox already plays.

Same protocol as Moodle (``/webservice/rest/server.php``); a Totara site has no
``core_competency_*`` or ``tool_lp_*`` functions (its competencies live in
``totara_hierarchy``/``totara_competency``), and adds ``totara_competency_*``. Their parameters
and answers are those of Totara's own definitions (Totara 13.1 source:
``server/totara/competency/db/services.php``, ``server/totara/competency/classes/external.php``):
``competency_id`` (not ``competencyid``), ``courses[{id, mandatory}]``, answers wrapped in
``items``. ``set_linked_courses`` replaces the competency's whole list, keeps only courses the
caller may see (the rest are dropped without a word) and answers ``null``. Whether a REST
token's service may include these functions is still unconfirmed (docs/totara.md).
"""

from __future__ import annotations

from typing import Any

from connector.moodle.text import format_string
from connector.sandbox.errors import MissingRecordError, MoodleError
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.params import Multiple, Single, dflt, opt, req
from connector.sandbox.registry import Area, Call, WsFunction
from connector.sandbox.totara.site import NOT_ON_TOTARA

area = Area("totara_competency")
MANAGE = "totara/hierarchy:updatecompetency"
VIEW = "totara/hierarchy:viewcompetency"


@area.function("totara_competency_get_frameworks", {}, capability=VIEW)
def get_frameworks(call: Call, params: dict[str, Any]) -> dict[str, Any] | None:
    """Every framework's id and full name (no idnumber: Totara's answer has none); ``null``
    when the sandbox plays a REST server that drops undeclared answers."""
    rows = call.db.all("SELECT id, fullname FROM comp_framework ORDER BY id")
    return _undeclared(call, {"items": [{"id": r["id"], "fullname": format_string(r["fullname"])}
                                        for r in rows]})


def _competency(call: Call, competency_id: int) -> dict[str, Any]:
    # Assumption: Totara's linked_courses code is not read past the external function; the
    # sandbox refuses an unknown competency the way Moodle's persistents do.
    row = call.db.one("SELECT * FROM comp WHERE id = ?", (competency_id,))
    if row is None:
        raise MissingRecordError("comp", "id", competency_id)
    return row


@area.function("totara_competency_get_linked_courses", {"competency_id": req("int")},
               capability=VIEW)
def get_linked_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The competency's linked courses: ``{items: [{id, mandatory, fullname}]}``."""
    comp = _competency(call, params["competency_id"])
    rows = call.db.all(
        "SELECT c.id, c.fullname, l.mandatory FROM comp_criteria_course l "
        "JOIN course c ON c.id = l.courseid WHERE l.competencyid = ? ORDER BY c.id",
        (comp["id"],))
    return {"items": [{"id": r["id"], "mandatory": bool(r["mandatory"]),
                       "fullname": format_string(r["fullname"])} for r in rows]}


@area.function("totara_competency_set_linked_courses",
               {"competency_id": req("int"),
                "courses": Multiple(Single({"id": req("int"), "mandatory": req("bool")}))},
               capability=MANAGE)
def set_linked_courses(call: Call, params: dict[str, Any]) -> None:
    """Replace the competency's linked courses with ``courses``, keeping only courses that
    exist and are visible; answers ``null``."""
    comp = _competency(call, params["competency_id"])
    visible = {r["id"] for r in call.db.all("SELECT id FROM course WHERE visible = 1 AND id <> 1")}
    call.db.execute("DELETE FROM comp_criteria_course WHERE competencyid = ?", (comp["id"],))
    for course in params["courses"]:
        if course["id"] in visible:
            call.db.execute("INSERT OR REPLACE INTO comp_criteria_course (competencyid, "
                            "courseid, mandatory) VALUES (?, ?, ?)",
                            (comp["id"], course["id"], int(bool(course["mandatory"]))))


#: Sandbox switches kept in the config table (so a reset restores them): Totara's advanced
#: feature setting, and whether the REST server drops the answers of functions that declare
#: no return structure (stock Moodle/Totara REST servers send ``null`` for them).
FEATURE_CONFIG = "enablecompetency_assignment"
DROPS_UNDECLARED = "sandbox_rest_drops_undeclared"
PER_PAGE = 20  # Assumption: Totara's ORM paginator's default page size is not read.
_ORDER = {"id": "id", "fullname": "fullname", "framework_hierarchy": "frameworkid, id",
          "sortthread": "frameworkid, id"}


def _config(call: Call, name: str) -> str | None:
    value = call.db.scalar("SELECT value FROM config WHERE name = ?", (name,))
    return None if value is None else str(value)


def _undeclared(call: Call, answer: dict[str, Any]) -> dict[str, Any] | None:
    return None if _config(call, DROPS_UNDECLARED) == "1" else answer


_INDEX_FILTERS = Single({
    "text": opt(), "assignment_type": Multiple(opt(), "optional"), "framework": opt("int"),
    "excluded_competency_id": dflt("int", 0), "assignment_status": Multiple(opt("int"),
                                                                            "optional"),
    "parent": opt("int"), "path": opt("int"), "basket": opt(), "visible": dflt("bool", True),
    "type": Multiple(opt("int"), "optional"), "ids": Multiple(opt("int"), "optional")},
    "default", {})


@area.function("totara_competency_competency_index",
               {"filters": _INDEX_FILTERS, "page": req("int"), "order": req("alphanumext"),
                "direction": req()}, capability=VIEW)
def competency_index(call: Call, params: dict[str, Any]) -> dict[str, Any] | None:
    """One page of competencies (``services/competency.php``: ``index``), or ``null`` when the
    sandbox plays a REST server that drops undeclared answers."""
    if _config(call, FEATURE_CONFIG) == "3":  # Totara's TOTARA_DISABLEFEATURE
        raise MoodleError("featurenotavailable",
                          "Feature competency_assignment is not available.")
    filters = params["filters"] or {}
    where, args = ["1 = 1"], []
    for key, column in (("framework", "frameworkid"), ("parent", "parentid")):
        if filters.get(key) is not None:
            where.append(f"{column} = ?")
            args.append(filters[key])
    if filters.get("excluded_competency_id"):
        where.append("id <> ?")
        args.append(filters["excluded_competency_id"])
    if filters.get("ids"):
        where.append(f"id IN ({', '.join('?' for _ in filters['ids'])})")
        args += list(filters["ids"])
    order = _ORDER.get(params["order"] or "framework_hierarchy", "id")
    direction = "ASC" if str(params["direction"]).lower() == "asc" else "DESC"
    rows = call.db.all(f"SELECT * FROM comp WHERE {' AND '.join(where)} "  # noqa: S608
                       f"ORDER BY {order} {direction}", args)
    page = max(1, int(params["page"]))
    pages = max(1, -(-len(rows) // PER_PAGE))
    shown = rows[(page - 1) * PER_PAGE:page * PER_PAGE]
    children = {r["parentid"] for r in call.db.all("SELECT parentid FROM comp")}
    items = [{"id": r["id"], "fullname": format_string(r["fullname"]),
              "description": r["description"], "display_name": format_string(r["fullname"]),
              "parentid": r["parentid"], "frameworkid": r["frameworkid"],
              "children_count": int(r["id"] in children), "assignments_count": 0}
             for r in shown]
    return _undeclared(call, {
        "items": items, "page": page, "pages": pages, "per_page": PER_PAGE,
        "next": page + 1 if page < pages else None, "prev": page - 1 if page > 1 else None,
        "total": len(rows)})


@area.function("core_completion_get_activities_completion_status",
               {"courseid": req("int"), "userid": req("int")})
def activities_completion_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Activity completion of one user in one course; the sandbox's courses have no
    activities, so the list is empty once course and user are found."""
    for table, key in (("course", "courseid"), ("user", "userid")):
        if not call.db.scalar(f"SELECT 1 FROM {table} WHERE id = ?",  # noqa: S608
                              (params[key],)):
            raise MissingRecordError(table, "id", params[key])
    return {"statuses": [], "warnings": []}


def totara_functions(*, competency_functions: bool = True) -> dict[str, WsFunction]:
    """The legacy functions of a Totara site: Moodle's minus its competency areas, plus
    ``totara_competency_*`` when a REST service may include them."""
    offered = {name: fn for name, fn in FUNCTIONS.items() if not name.startswith(NOT_ON_TOTARA)}
    if competency_functions:
        offered.update(area.functions)
    return offered
