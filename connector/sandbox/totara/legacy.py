"""Totara's legacy web services beside the Moodle ones the sandbox already plays.

Same protocol as Moodle (``/webservice/rest/server.php``); a Totara site has no
``core_competency_*`` or ``tool_lp_*`` functions (its competencies live in
``totara_hierarchy``/``totara_competency``), and adds ``totara_competency_*``. Their parameter
names are not stated by the contract: the sandbox uses ``competencyid`` and
``courses[{id, mandatory}]`` (docs/totara.md lists this assumption).
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import MissingRecordError
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.params import Multiple, Single, dflt, req
from connector.sandbox.registry import Area, Call, WsFunction
from connector.sandbox.totara.site import NOT_ON_TOTARA

area = Area("totara_competency")
MANAGE = "totara/hierarchy:updatecompetency"


@area.function("totara_competency_get_frameworks", {}, capability=MANAGE)
def get_frameworks(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    return call.db.all("SELECT id, idnumber, fullname, shortname FROM comp_framework "
                       "ORDER BY id")


def _competency(call: Call, competencyid: int) -> dict[str, Any]:
    row = call.db.one("SELECT * FROM comp WHERE id = ?", (competencyid,))
    if row is None:
        raise MissingRecordError("comp", "id", competencyid)
    return row


@area.function("totara_competency_get_linked_courses", {"competencyid": req("int")},
               capability=MANAGE)
def get_linked_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    comp = _competency(call, params["competencyid"])
    return call.db.all(
        "SELECT c.id, c.fullname, l.mandatory FROM comp_criteria_course l "
        "JOIN course c ON c.id = l.courseid WHERE l.competencyid = ? ORDER BY c.id",
        (comp["id"],))


@area.function("totara_competency_set_linked_courses",
               {"competencyid": req("int"),
                "courses": Multiple(Single({"id": req("int"),
                                            "mandatory": dflt("bool", True)}))},
               capability=MANAGE)
def set_linked_courses(call: Call, params: dict[str, Any]) -> bool:
    """Replace the competency's linked courses with ``courses``."""
    comp = _competency(call, params["competencyid"])
    for course in params["courses"]:
        if not call.db.scalar("SELECT 1 FROM course WHERE id = ?", (course["id"],)):
            raise MissingRecordError("course", "id", course["id"])
    call.db.execute("DELETE FROM comp_criteria_course WHERE competencyid = ?", (comp["id"],))
    for course in params["courses"]:
        call.db.insert("comp_criteria_course", competencyid=comp["id"], courseid=course["id"],
                       mandatory=int(bool(course["mandatory"])))
    return True


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
