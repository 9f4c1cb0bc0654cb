"""``enrol_manual`` and ``core_enrol``: enrol users, list the users enrolled in a course."""

from __future__ import annotations

from typing import Any

from connector.moodle.text import format_string
from connector.sandbox.errors import CapabilityError, MoodleError
from connector.sandbox.exporters import must_get, user_details
from connector.sandbox.params import Multiple, Single, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.schema import CONTEXT_COURSE

area = Area("enrol")

ENROLMENT = {"roleid": req("int"), "userid": req("int"), "courseid": req("int"),
             "timestart": opt("int"), "timeend": opt("int"), "suspend": opt("int")}


@area.function("enrol_manual_enrol_users", {"enrolments": Multiple(Single(ENROLMENT))},
               capability="Enrol users")
def enrol_users(call: Call, params: dict[str, Any]) -> None:
    """Enrol (or re-enrol) users with a course role; returns ``null`` as Moodle does."""
    for item in params["enrolments"]:
        course = must_get(call.db, "course", item["courseid"])
        must_get(call.db, "user", item["userid"])
        role = call.db.one("SELECT * FROM role WHERE id = ?", (item["roleid"],))
        if role is None or str(CONTEXT_COURSE) not in role["contextlevels"].split(","):
            raise MoodleError(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({item['roleid']}) to this "
                f"user ({item['userid']}) in this course({item['courseid']}).",
            )
        values = {"roleid": role["id"], "status": 1 if item.get("suspend") else 0,
                  "timestart": item.get("timestart", 0), "timeend": item.get("timeend", 0)}
        existing = call.db.one("SELECT id FROM user_enrolments WHERE courseid = ? AND userid = ?",
                               (course["id"], item["userid"]))
        if existing:
            call.db.update("user_enrolments", existing["id"], **values)
        else:
            call.db.insert("user_enrolments", courseid=course["id"], userid=item["userid"],
                           timecreated=call.now, **values)
            call.db.insert("course_completions", userid=item["userid"], course=course["id"],
                           timeenrolled=call.now)
    return


def _roles(call: Call, roleid: int) -> list[dict[str, Any]]:
    role = call.db.one("SELECT * FROM role WHERE id = ?", (roleid,))
    if role is None:
        return []
    return [{"roleid": role["id"], "name": "", "shortname": role["shortname"], "sortorder": 0}]


@area.function("core_enrol_get_enrolled_users",
               {"courseid": req("int"),
                "options": Multiple(Single({"name": req("alphanumext"), "value": req("raw")}),
                                    "default", [])})
def get_enrolled_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Users enrolled in a course with roles and courses; ``userfields`` narrows the keys."""
    course = must_get(call.db, "course", params["courseid"])
    options = {item["name"]: item["value"] for item in params["options"]}
    if not call.is_admin and not call.db.scalar(
        "SELECT 1 FROM user_enrolments WHERE courseid = ? AND userid = ?",
        (course["id"], call.userid),
    ):
        raise CapabilityError("View participants")
    sql = ("SELECT u.*, e.roleid, e.status AS enrolstatus FROM user_enrolments e "
           "JOIN user u ON u.id = e.userid WHERE e.courseid = ?")
    if options.get("onlyactive") in ("1", "true"):
        sql += " AND e.status = 0"
    rows = call.db.all(sql + " ORDER BY u.id", (course["id"],))
    start = int(options.get("limitfrom", "0") or 0)
    count = int(options.get("limitnumber", "0") or 0)
    rows = rows[start : start + count] if count else rows[start:]
    wanted = None
    if "userfields" in options:
        wanted = {name.strip() for name in options["userfields"].split(",")} | {"fullname"}
    return [_enrolled_user(call, row, wanted) for row in rows]


def _enrolled_user(call: Call, row: dict[str, Any], wanted: set[str] | None) -> dict[str, Any]:
    details = user_details(row, call.site_url)
    lastcourse = call.db.scalar("SELECT MAX(timeaccess) FROM user_lastaccess WHERE userid = ?",
                                (row["id"],))
    out: dict[str, Any] = {key: details[key] for key in (
        "id", "username", "firstname", "lastname", "fullname", "email", "department")}
    out["idnumber"] = details["idnumber"]
    out.update({"firstaccess": row["firstaccess"], "lastaccess": row["lastaccess"],
                "lastcourseaccess": lastcourse or 0,
                "profileimageurlsmall": details["profileimageurlsmall"],
                "profileimageurl": details["profileimageurl"],
                "roles": _roles(call, row["roleid"])})
    courses = call.db.all(
        "SELECT c.id, c.fullname, c.shortname FROM user_enrolments e "
        "JOIN course c ON c.id = e.courseid WHERE e.userid = ? ORDER BY c.sortorder",
        (row["id"],),
    )
    out["enrolledcourses"] = [{"id": c["id"], "fullname": format_string(c["fullname"]),
                               "shortname": c["shortname"]} for c in courses]
    if wanted is None:
        return out
    return {key: value for key, value in out.items() if key in wanted}
