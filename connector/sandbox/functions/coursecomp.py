"""``core_competency`` course competencies and learning plan templates."""

from __future__ import annotations

from typing import Any

from connector.moodle.text import format_string
from connector.sandbox.errors import CodingError, PersistentError
from connector.sandbox.exporters import competency, must_get, userdate
from connector.sandbox.functions.courses import course_summary
from connector.sandbox.functions.frameworks import context_from_params
from connector.sandbox.params import Single, dflt, opt, req
from connector.sandbox.registry import Area, Call

area = Area("core_competency_courses")
MANAGE_COURSE = "Manage course competencies"
MANAGE_TEMPLATES = "Manage learning plan templates"
OUTCOMES = (0, 1, 2, 3)


def _link(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("courseid", "competencyid", "sortorder", "ruleoutcome",
                                       "id", "timecreated", "timemodified", "usermodified")}


@area.function("core_competency_add_competency_to_course",
               {"courseid": req("int"), "competencyid": req("int")}, capability=MANAGE_COURSE)
def add_to_course(call: Call, params: dict[str, Any]) -> bool:
    """Link a competency to a course (outcome 1, evidence); ``false`` if already linked."""
    course = must_get(call.db, "course", params["courseid"])
    comp = must_get(call.db, "competency", params["competencyid"])
    if call.db.scalar("SELECT 1 FROM competency_coursecomp WHERE courseid = ? AND competencyid = ?",
                      (course["id"], comp["id"])):
        return False
    sortorder = call.db.scalar("SELECT COUNT(*) FROM competency_coursecomp WHERE courseid = ?",
                               (course["id"],))
    call.db.insert("competency_coursecomp", courseid=course["id"], competencyid=comp["id"],
                   sortorder=sortorder, ruleoutcome=1, timecreated=call.now,
                   timemodified=call.now, usermodified=call.userid)
    return True


@area.function("core_competency_remove_competency_from_course",
               {"courseid": req("int"), "competencyid": req("int")}, capability=MANAGE_COURSE)
def remove_from_course(call: Call, params: dict[str, Any]) -> bool:
    link = call.db.one("SELECT * FROM competency_coursecomp WHERE courseid = ? "
                       "AND competencyid = ?",
                       (params["courseid"], params["competencyid"]))
    if link is None:
        raise CodingError("The competency does not belong to this course: "
                          f"{params['competencyid']}, {params['courseid']}")
    call.db.execute("DELETE FROM competency_coursecomp WHERE id = ?", (link["id"],))
    rest = call.db.all("SELECT id FROM competency_coursecomp WHERE courseid = ? ORDER BY sortorder",
                       (params["courseid"],))
    for index, item in enumerate(rest):
        call.db.update("competency_coursecomp", item["id"], sortorder=index)
    return True


@area.function("core_competency_list_course_competencies", {"id": req("int")})
def list_course_competencies(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{competency, coursecompetency}]`` in the course's order."""
    must_get(call.db, "course", params["id"])
    links = call.db.all("SELECT * FROM competency_coursecomp WHERE courseid = ? ORDER BY sortorder",
                        (params["id"],))
    return [{"competency": competency(must_get(call.db, "competency", link["competencyid"])),
             "coursecompetency": _link(link)} for link in links]



@area.function("tool_lp_list_courses_using_competency", {"id": req("int")})
def list_courses_using_competency(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The courses linked to a competency, as course summaries (Moodle's
    course_summary_exporter), in course id order. Moodle 4.5 has it in tool_lp only (the
    recorded site's function list, contract 01)."""
    comp = must_get(call.db, "competency", params["id"])
    rows = call.db.all("SELECT c.* FROM competency_coursecomp l JOIN course c ON c.id = "
                       "l.courseid WHERE l.competencyid = ? ORDER BY c.id", (comp["id"],))
    return [course_summary(call, row) for row in rows]

@area.function("core_competency_count_competencies_in_course", {"id": req("int")})
def count_in_course(call: Call, params: dict[str, Any]) -> int:
    must_get(call.db, "course", params["id"])
    return int(call.db.scalar("SELECT COUNT(*) FROM competency_coursecomp WHERE courseid = ?",
                              (params["id"],)))


@area.function("core_competency_set_course_competency_ruleoutcome",
               {"coursecompetencyid": req("int"), "ruleoutcome": req("int")},
               capability=MANAGE_COURSE)
def set_ruleoutcome(call: Call, params: dict[str, Any]) -> bool:
    """Takes the course-competency id; outcomes 0 none, 1 evidence, 2 recommend, 3 complete."""
    link = must_get(call.db, "competency_coursecomp", params["coursecompetencyid"])
    if params["ruleoutcome"] not in OUTCOMES:
        raise PersistentError("ruleoutcome", "Invalid rule outcome")
    call.db.update("competency_coursecomp", link["id"], ruleoutcome=params["ruleoutcome"],
                   timemodified=call.now, usermodified=call.userid)
    return True


TEMPLATE_FIELDS = {"shortname": req(), "description": dflt("raw", ""),
                   "descriptionformat": dflt("int", 1), "duedate": dflt("int", 0),
                   "visible": dflt("bool", True), "contextid": opt("int"),
                   "contextlevel": opt("alphanumext"), "instanceid": opt("int")}


@area.function("core_competency_create_template", {"template": Single(TEMPLATE_FIELDS)},
               capability=MANAGE_TEMPLATES)
def create_template(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    data = params["template"]
    contextid = context_from_params(call.db, data)
    templateid = call.db.insert(
        "competency_template", shortname=data["shortname"], description=data["description"],
        descriptionformat=data["descriptionformat"], duedate=data["duedate"],
        visible=int(data["visible"]), contextid=contextid, timecreated=call.now,
        timemodified=call.now, usermodified=call.userid)
    row = must_get(call.db, "competency_template", templateid)
    return {
        "shortname": format_string(row["shortname"]), "description": row["description"],
        "descriptionformat": row["descriptionformat"], "duedate": row["duedate"],
        "visible": bool(row["visible"]), "contextid": row["contextid"], "id": row["id"],
        "timecreated": row["timecreated"], "timemodified": row["timemodified"],
        "usermodified": row["usermodified"], "duedateformatted": userdate(row["duedate"]),
        "cohortscount": 0, "planscount": 0, "canmanage": True, "canread": True,
        "contextname": "System", "contextnamenoprefix": "System",
    }


@area.function("core_competency_add_competency_to_template",
               {"templateid": req("int"), "competencyid": req("int")},
               capability=MANAGE_TEMPLATES)
def add_to_template(call: Call, params: dict[str, Any]) -> bool:
    template = must_get(call.db, "competency_template", params["templateid"])
    comp = must_get(call.db, "competency", params["competencyid"])
    if not call.db.scalar("SELECT 1 FROM competency_templatecomp WHERE templateid = ? "
                          "AND competencyid = ?", (template["id"], comp["id"])):
        sortorder = call.db.scalar(
            "SELECT COUNT(*) FROM competency_templatecomp WHERE templateid = ?", (template["id"],))
        call.db.insert("competency_templatecomp", templateid=template["id"],
                       competencyid=comp["id"], sortorder=sortorder, timecreated=call.now)
    return True


@area.function("core_competency_list_competencies_in_template", {"id": req("int")})
def list_in_template(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    must_get(call.db, "competency_template", params["id"])
    rows = call.db.all(
        "SELECT c.* FROM competency_templatecomp t JOIN competency c ON c.id = t.competencyid "
        "WHERE t.templateid = ? ORDER BY t.sortorder", (params["id"],))
    return [competency(row) for row in rows]
