"""``core_course_search_courses``: courses by words or by tag, with their public fields.

No exchange is recorded; parameters, checks and answer follow Moodle's definition
(``course/externallib.php``: ``search_courses_parameters``, ``search_courses``,
``get_course_structure(true)``). The front page is never a result.
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import CapabilityError, InvalidParameterError
from connector.sandbox.functions.courses import course_in_list
from connector.sandbox.params import Multiple, dflt, req
from connector.sandbox.registry import Area, Call

area = Area("core_course")
CRITERIA = ("search", "modulelist", "blocklist", "tagid")
PUBLIC_FIELDS = ("id", "fullname", "displayname", "shortname", "courseimage", "categoryid",
                 "categoryname", "sortorder", "summary", "summaryformat", "summaryfiles",
                 "overviewfiles", "showactivitydates", "showcompletionconditions", "contacts",
                 "enrollmentmethods")


@area.function("core_course_search_courses", {
    "criterianame": req("text"), "criteriavalue": req("raw"), "page": dflt("int", 0),
    "perpage": dflt("int", 0), "requiredcapabilities": Multiple(req("text"), "default", []),
    "limittoenrolled": dflt("bool", False), "onlywithcompletion": dflt("bool", False)})
def search_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Courses matching ``criterianame``/``criteriavalue``: ``search`` (words in the names
    or summary) or ``tagid`` (tagged with that tag); a page of ``perpage`` (0: all)."""
    name = params["criterianame"]
    if name not in CRITERIA:
        raise InvalidParameterError(f"Invalid value for criterianame parameter (value: {name}),"
                                    f"allowed values are: {','.join(CRITERIA)}")
    if name in ("modulelist", "blocklist") and not call.is_admin:
        raise CapabilityError("Change site configuration")
    rows = _matches(call, name, str(params["criteriavalue"]))
    if params["onlywithcompletion"]:
        rows = [r for r in rows if r["enablecompletion"]]
    total = len(rows)
    if params["perpage"]:
        start = params["page"] * params["perpage"]
        rows = rows[start:start + params["perpage"]]
    if params["limittoenrolled"]:
        mine = {r["courseid"] for r in call.db.all(
            "SELECT courseid FROM user_enrolments WHERE userid = ?", (call.userid,))}
        total -= sum(1 for r in rows if r["id"] not in mine)
        rows = [r for r in rows if r["id"] in mine]
    courses = [course_in_list(call.db, row, call.site_url) for row in rows]
    return {"total": total, "courses": [{k: c[k] for k in PUBLIC_FIELDS} for c in courses],
            "warnings": []}


def _matches(call: Call, name: str, value: str) -> list[dict[str, Any]]:
    if name == "tagid":
        tagid = int(value) if value.strip().lstrip("-").isdigit() else 0
        return call.db.all(
            "SELECT c.* FROM course c JOIN tag_instance ti ON ti.itemid = c.id "
            "AND ti.component = 'core' AND ti.itemtype = 'course' "
            "WHERE ti.tagid = ? AND c.id <> 1 ORDER BY c.sortorder, c.id", (tagid,))
    if name == "search":
        words = [w.lower() for w in value.split() if w.strip()]
        rows = call.db.all("SELECT * FROM course WHERE id <> 1 ORDER BY sortorder, id")
        return [r for r in rows if words and all(
            w in f"{r['fullname']} {r['shortname']} {r['idnumber']} {r['summary']}".lower()
            for w in words)]
    return []  # modules and blocks are not played by the sandbox
