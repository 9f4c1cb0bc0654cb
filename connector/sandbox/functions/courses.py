"""``core_course``: create courses, read them by ids or by field, recent courses of a user."""

from __future__ import annotations

from typing import Any

from connector.moodle.text import format_string
from connector.sandbox.errors import CapabilityError, InvalidParameterError, MoodleError, PhpError
from connector.sandbox.exporters import must_get
from connector.sandbox.params import Multiple, Single, dflt, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_course")
YEAR = 365 * 24 * 3600
DAY = 24 * 3600
FILTERS = ["displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink",
           "mediaplugin"]

COURSE_FIELDS = {
    "fullname": req(), "shortname": req(), "categoryid": req("int"), "idnumber": opt("raw"),
    "summary": opt("raw"), "summaryformat": dflt("int", 1), "format": dflt("text", "topics"),
    "showgrades": dflt("int", 1), "newsitems": dflt("int", 5), "startdate": opt("int"),
    "enddate": opt("int"), "numsections": opt("int"), "maxbytes": dflt("int", 0),
    "showreports": dflt("int", 0), "visible": opt("int"), "hiddensections": opt("int"),
    "groupmode": dflt("int", 0), "groupmodeforce": dflt("int", 0),
    "defaultgroupingid": dflt("int", 0), "enablecompletion": opt("int"),
    "completionnotify": opt("int"), "lang": opt(), "forcetheme": opt(),
}


def insert_course(db: Db, now: int, course: dict[str, Any]) -> int:
    """Create a course the way ``create_course`` does: it goes to the top of its category."""
    category = must_get(db, "course_categories", course["categoryid"])
    db.execute("UPDATE course SET sortorder = sortorder + 1 WHERE category = ?", (category["id"],))
    startdate = course.get("startdate")
    if startdate is None:
        startdate = (now // DAY + 1) * DAY
    courseid = db.insert(
        "course", category=category["id"], sortorder=category["sortorder"] + 1,
        fullname=course["fullname"], shortname=course["shortname"],
        idnumber=course.get("idnumber", ""), summary=course.get("summary", ""),
        summaryformat=course.get("summaryformat", 1), format=course.get("format", "topics"),
        startdate=startdate, enddate=course.get("enddate", startdate + YEAR),
        visible=course.get("visible", 1), enablecompletion=course.get("enablecompletion", 0),
        timecreated=now, timemodified=now, cacherev=now,
    )
    db.course_context(courseid)
    return courseid


@area.function("core_course_create_courses", {"courses": Multiple(Single(COURSE_FIELDS))},
               capability="Create courses")
def create_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Create courses; a taken short name is ``shortnametaken``."""
    created = []
    for course in params["courses"]:
        shortname = course["shortname"]
        if call.db.scalar("SELECT 1 FROM course WHERE shortname = ?", (shortname,)):
            raise MoodleError("shortnametaken",
                              f"Short name is already used for another course ({shortname})")
        idnumber = course.get("idnumber", "")
        if idnumber and call.db.scalar("SELECT 1 FROM course WHERE idnumber = ?", (idnumber,)):
            raise MoodleError("courseidnumbertaken",
                              f"ID number is already used for another course ({idnumber})")
        created.append({"id": insert_course(call.db, call.now, course), "shortname": shortname})
    return created


def _format_options(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "hiddensections", "value": 1}, {"name": "coursedisplay", "value": 0}]


def course_record(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    """The ``core_course_get_courses`` shape."""
    site = row["format"] == "site"
    out: dict[str, Any] = {
        "id": row["id"], "shortname": row["shortname"], "categoryid": row["category"],
        "categorysortorder": row["sortorder"], "fullname": format_string(row["fullname"]),
        "displayname": format_string(row["fullname"]), "idnumber": row["idnumber"],
        "summary": row["summary"], "summaryformat": row["summaryformat"],
        "format": row["format"], "showgrades": row["showgrades"],
        "newsitems": row["newsitems"], "startdate": row["startdate"],
        "enddate": row["enddate"], "numsections": 0, "maxbytes": 0, "showreports": 0,
        "visible": row["visible"], "hiddensections": 1, "groupmode": 0, "groupmodeforce": 0,
        "defaultgroupingid": 0, "timecreated": row["timecreated"],
        "timemodified": row["timemodified"], "enablecompletion": row["enablecompletion"],
        "completionnotify": 0, "lang": "", "forcetheme": "",
    }
    if not site:
        out["courseformatoptions"] = _format_options(row)
    out["showactivitydates"] = not site
    out["showcompletionconditions"] = None if site else True
    return out


def course_in_list(db: Db, row: dict[str, Any], site_url: str) -> dict[str, Any]:
    """The ``core_course_get_courses_by_field`` shape."""
    site = row["format"] == "site"
    contextid = db.course_context(row["id"])
    category = db.one("SELECT name FROM course_categories WHERE id = ?", (row["category"],))
    out: dict[str, Any] = {
        "id": row["id"], "fullname": format_string(row["fullname"]),
        "displayname": format_string(row["fullname"]), "shortname": row["shortname"],
        "courseimage": f"{site_url}/pluginfile.php/{contextid}/course/generated/course.svg",
        "categoryid": row["category"],
        "categoryname": format_string(category["name"]) if category else "",
        "sortorder": row["sortorder"], "summary": row["summary"],
        "summaryformat": row["summaryformat"], "summaryfiles": [], "overviewfiles": [],
        "showactivitydates": not site, "showcompletionconditions": None if site else True,
        "contacts": [], "enrollmentmethods": [] if site else ["manual"],
        "idnumber": row["idnumber"], "format": row["format"], "showgrades": row["showgrades"],
        "newsitems": row["newsitems"], "startdate": row["startdate"],
        "enddate": row["enddate"], "maxbytes": 0, "showreports": 0, "visible": row["visible"],
        "groupmode": 0, "groupmodeforce": 0, "defaultgroupingid": 0,
        "enablecompletion": row["enablecompletion"], "completionnotify": 0, "lang": "",
        "theme": "", "marker": 0, "legacyfiles": 0, "calendartype": "",
        "timecreated": row["timecreated"], "timemodified": row["timemodified"],
        "requested": 0, "cacherev": row["cacherev"],
        "filters": [{"filter": name, "localstate": 0, "inheritedstate": 1} for name in FILTERS],
    }
    if not site:
        out["courseformatoptions"] = [*_format_options(row),
                                      {"name": "indentation", "value": "1"}]
    return out


@area.function("core_course_get_courses",
               {"options": Single({"ids": Multiple(req("int"), "optional")}, "default", {})},
               capability="View courses without participation")
def get_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Courses by id (all courses, front page included, without ids), in category order."""
    ids = params["options"].get("ids")
    if ids is None:
        rows = call.db.all("SELECT * FROM course ORDER BY sortorder, id")
    else:
        marks = ",".join("?" for _ in ids)
        rows = call.db.all(f"SELECT * FROM course WHERE id IN ({marks}) ORDER BY sortorder, id",  # noqa: S608
                           ids)
    return [course_record(call.db, row) for row in rows]


@area.function("core_course_get_courses_by_field",
               {"field": dflt("alphanumext", ""),
                "value": dflt("raw", "")})
def get_courses_by_field(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Courses by ``id``, ``ids``, ``shortname``, ``idnumber`` or ``category``; all without field.

    One unknown id inside ``ids`` crashes Moodle 4.5 with a bare PHP Error (recorded); a single
    unknown ``id`` gives an empty list.
    """
    field, value = params["field"], params["value"]
    columns = {"id": "id", "shortname": "shortname", "idnumber": "idnumber",
               "category": "category"}
    if field == "":
        rows = call.db.all("SELECT * FROM course ORDER BY id")
    elif field == "ids":
        ids = [int(part) for part in value.split(",") if part.strip().isdigit()]
        marks = ",".join("?" for _ in ids)
        rows = call.db.all(f"SELECT * FROM course WHERE id IN ({marks}) ORDER BY id", ids)  # noqa: S608
        if len(rows) < len(set(ids)):
            raise PhpError('Attempt to assign property "contextvalidated" on null')
    elif field in columns:
        rows = call.db.all(
            f"SELECT * FROM course WHERE {columns[field]} = ? ORDER BY id", (value,)  # noqa: S608
        )
    else:
        raise InvalidParameterError("Invalid field name")
    if not call.is_admin:
        enrolled = {row["courseid"] for row in call.db.all(
            "SELECT courseid FROM user_enrolments WHERE userid = ?", (call.userid,))}
        rows = [row for row in rows if row["id"] in enrolled or row["id"] == 1]
    return {"courses": [course_in_list(call.db, row, call.site_url) for row in rows],
            "warnings": []}


@area.function("core_course_get_recent_courses",
               {"userid": dflt("int", 0), "limit": dflt("int", 0), "offset": dflt("int", 0),
                "sort": opt()})
def get_recent_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Courses the user last opened in a browser (web-service calls never count)."""
    userid = params["userid"] or call.userid
    if userid != call.userid and not call.is_admin:
        raise CapabilityError("View user profiles")
    rows = call.db.all(
        "SELECT c.*, a.timeaccess FROM user_lastaccess a JOIN course c ON c.id = a.courseid "
        "WHERE a.userid = ? ORDER BY a.timeaccess DESC, c.id DESC",
        (userid,),
    )
    rows = rows[params["offset"]:]
    if params["limit"]:
        rows = rows[: params["limit"]]
    return [{**course_summary(call, row), "timeaccess": row["timeaccess"]} for row in rows]


def course_summary(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    """A course as Moodle's course_summary_exporter exports it (contract 159)."""
    category = call.db.one("SELECT name FROM course_categories WHERE id = ?", (row["category"],))
    return {
        "id": row["id"], "fullname": format_string(row["fullname"]),
        "shortname": row["shortname"], "idnumber": row["idnumber"],
        "summary": row["summary"], "summaryformat": row["summaryformat"],
        "startdate": row["startdate"], "enddate": row["enddate"],
        "visible": bool(row["visible"]), "showactivitydates": True,
        "showcompletionconditions": True, "pdfexportfont": "",
        "fullnamedisplay": format_string(row["fullname"]),
        "viewurl": f"{call.site_url}/course/view.php?id={row['id']}",
        "courseimage": f"{call.site_url}/pluginfile.php/{call.db.course_context(row['id'])}"
                       "/course/generated/course.svg",
        "progress": 0, "hasprogress": False, "isfavourite": False, "hidden": False,
        "showshortname": False,
        "coursecategory": format_string(category["name"]) if category else "",
    }
