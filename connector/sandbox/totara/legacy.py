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
from connector.sandbox.errors import MissingRecordError
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.params import Multiple, Single, req
from connector.sandbox.registry import Area, Call, WsFunction
from connector.sandbox.totara.site import NOT_ON_TOTARA

area = Area("totara_competency")
MANAGE = "totara/hierarchy:updatecompetency"
VIEW = "totara/hierarchy:viewcompetency"


@area.function("totara_competency_get_frameworks", {}, capability=VIEW)
def get_frameworks(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every framework's id and full name (no idnumber: Totara's answer has none)."""
    rows = call.db.all("SELECT id, fullname FROM comp_framework ORDER BY id")
    return {"items": [{"id": r["id"], "fullname": format_string(r["fullname"])} for r in rows]}


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
