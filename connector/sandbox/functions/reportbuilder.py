"""``core_reportbuilder``: read a custom report of course participants and their completion.

The report itself is made by an admin in Moodle's UI; the sandbox makes one with
``POST /_sandbox/reports`` (see :func:`create_completion_report`).
"""

from __future__ import annotations

import json
from typing import Any

from connector.sandbox.exporters import must_get, user_summary, userdate
from connector.sandbox.params import dflt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_reportbuilder")
SOURCE = "core_course\\reportbuilder\\datasource\\participants"
HEADERS = ["Course short name", "Username", "Email address", "Completed", "Time completed",
           "Student progress"]


def create_completion_report(db: Db, now: int, name: str, courseidnumber: str | None) -> int:
    """The course-participants report an admin builds once (optionally for one course)."""
    conditions: dict[str, Any] = {}
    if courseidnumber:
        conditions = {"course:idnumber_operator": 3, "course:idnumber_value": courseidnumber}
    conditions["user:username_operator"] = 8
    return db.insert("reportbuilder_report", name=name, source=SOURCE,
                     conditiondata=json.dumps(conditions), courseidnumber=courseidnumber,
                     contextid=db.system_context(), usercreated=2, timecreated=now,
                     timemodified=now)


@area.function("core_reportbuilder_retrieve_report",
               {"reportid": req("int"), "page": dflt("int", 0), "perpage": dflt("int", 10)},
               capability="View custom reports")
def retrieve_report(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One page of the report: every cell is a display string."""
    report = must_get(call.db, "reportbuilder_report", params["reportid"])
    sql = ("SELECT c.shortname, u.username, u.email, cc.timecompleted FROM user_enrolments e "
           "JOIN course c ON c.id = e.courseid JOIN user u ON u.id = e.userid "
           "LEFT JOIN course_completions cc ON cc.userid = u.id AND cc.course = c.id")
    args: list[Any] = []
    if report["courseidnumber"]:
        sql += " WHERE c.idnumber = ?"
        args.append(report["courseidnumber"])
    rows = call.db.all(sql + " ORDER BY c.id, u.id", args)
    start = params["page"] * params["perpage"]
    page = rows[start : start + params["perpage"]]
    author = must_get(call.db, "user", report["usercreated"])
    details = {
        "name": report["name"], "source": report["source"], "type": 0, "uniquerows": False,
        "conditiondata": report["conditiondata"], "settingsdata": None,
        "contextid": report["contextid"], "component": "", "area": "", "itemid": 0,
        "usercreated": report["usercreated"], "id": report["id"],
        "timecreated": report["timecreated"], "timemodified": report["timemodified"],
        "usermodified": report["usercreated"], "sourcename": "Course participants", "tags": [],
        "modifiedby": user_summary(author, call.site_url),
    }
    data = [{"columns": [
        row["shortname"], row["username"], row["email"], "Yes" if row["timecompleted"] else "",
        userdate(row["timecompleted"]) if row["timecompleted"] else "",
        "100.0%" if row["timecompleted"] else "0.0%"]} for row in page]
    return {"details": details,
            "data": {"headers": HEADERS, "rows": data, "totalrowcount": len(rows)},
            "warnings": []}
