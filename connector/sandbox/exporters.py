"""Moodle's exporters: database rows turned into the exact response structures of Moodle 4.5."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connector.moodle.text import format_string
from connector.sandbox.encoding import ABSENT
from connector.sandbox.errors import MissingRecordError
from connector.sandbox.state import Db

THEME_REV = 1795310867
# The recorded site ran in Europe/London (0 shows as "Thursday, 1 January 1970, 1:00 AM").
SITE_TIMEZONE = ZoneInfo("Europe/London")
PLAN_STATUS_NAMES = {0: "Draft", 1: "Active", 2: "Complete", 3: "Waiting for review",
                     4: "In review"}


def userdate(timestamp: int) -> str:
    """Moodle's ``userdate`` with the default full format, in the site's time zone."""
    moment = datetime.fromtimestamp(timestamp, SITE_TIMEZONE)
    return moment.strftime("%A, %-d %B %Y, %-I:%M %p")


def picture_urls(site_url: str) -> dict[str, str]:
    base = f"{site_url}/theme/image.php/boost/core/{THEME_REV}/u"
    return {"profileimageurlsmall": f"{base}/f2", "profileimageurl": f"{base}/f1"}


def fullname(user: dict[str, Any]) -> str:
    return f"{user['firstname']} {user['lastname']}"


def must_get(db: Db, table: str, row_id: int) -> dict[str, Any]:
    """``$DB->get_record($table, ['id' => $id], '*', MUST_EXIST)``."""
    row = db.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))  # noqa: S608 - our names
    if row is None:
        raise MissingRecordError(table, "id", row_id)
    return row


def user_details(user: dict[str, Any], site_url: str) -> dict[str, Any]:
    """``user_get_user_details``: empty idnumber is left out, department is always there."""
    out: dict[str, Any] = {
        "id": user["id"], "username": user["username"], "firstname": user["firstname"],
        "lastname": user["lastname"], "fullname": fullname(user), "email": user["email"],
        "department": user["department"],
    }
    # Moodle leaves an empty idnumber out (JSON); XML shows every described key, null if unset.
    out["idnumber"] = user["idnumber"] or ABSENT
    if user["institution"]:
        out["institution"] = user["institution"]
    if user["city"]:
        out["city"] = user["city"]
    out.update({
        "firstaccess": user["firstaccess"], "lastaccess": user["lastaccess"],
        "auth": user["auth"], "suspended": bool(user["suspended"]), "confirmed": True,
        "lang": user["lang"], "theme": "", "timezone": user["timezone"],
        "mailformat": user["mailformat"], "trackforums": 0,
    })
    out.update(picture_urls(site_url))
    return out


def user_summary(user: dict[str, Any], site_url: str) -> dict[str, Any]:
    """The ``user_summary_exporter`` shape used for evidence and report authors."""
    return {
        "id": user["id"], "email": user["email"], "idnumber": user["idnumber"], "phone1": "",
        "phone2": "", "department": user["department"], "institution": user["institution"],
        "fullname": fullname(user), "identity": user["email"],
        "profileurl": f"{site_url}/user/profile.php?id={user['id']}",
        "profileimageurl": picture_urls(site_url)["profileimageurl"],
        "profileimageurlsmall": picture_urls(site_url)["profileimageurlsmall"],
    }


def framework(db: Db, row: dict[str, Any]) -> dict[str, Any]:
    count = db.scalar(
        "SELECT COUNT(*) FROM competency WHERE competencyframeworkid = ?", (row["id"],)
    )
    return {
        "shortname": format_string(row["shortname"]), "idnumber": row["idnumber"],
        "description": row["description"], "descriptionformat": row["descriptionformat"],
        "visible": bool(row["visible"]), "scaleid": row["scaleid"],
        "scaleconfiguration": row["scaleconfiguration"], "contextid": row["contextid"],
        "taxonomies": row["taxonomies"], "id": row["id"], "timecreated": row["timecreated"],
        "timemodified": row["timemodified"], "usermodified": row["usermodified"],
        "canmanage": True, "competenciescount": int(count), "contextname": "System",
        "contextnamenoprefix": "System",
    }


def competency(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "shortname": format_string(row["shortname"]), "idnumber": row["idnumber"],
        "description": row["description"], "descriptionformat": row["descriptionformat"],
        "sortorder": row["sortorder"], "parentid": row["parentid"], "path": row["path"],
        "ruleoutcome": row["ruleoutcome"], "ruletype": row["ruletype"],
        "ruleconfig": row["ruleconfig"], "scaleid": row["scaleid"],
        "scaleconfiguration": row["scaleconfiguration"],
        "competencyframeworkid": row["competencyframeworkid"], "id": row["id"],
        "timecreated": row["timecreated"], "timemodified": row["timemodified"],
        "usermodified": row["usermodified"],
    }


def scale_values(db: Db, competency_row: dict[str, Any]) -> tuple[list[str], dict[int, bool]]:
    """The scale items of a competency (its own or its framework's) and which are proficient."""
    fw = must_get(db, "competency_framework", competency_row["competencyframeworkid"])
    scaleid = competency_row["scaleid"] or fw["scaleid"]
    config = competency_row["scaleconfiguration"] or fw["scaleconfiguration"]
    scale = must_get(db, "scale", scaleid)
    proficient = {
        int(item["id"]): bool(item.get("proficient"))
        for item in json.loads(config)[1:]
        if isinstance(item, dict) and "id" in item
    }
    return [name.strip() for name in scale["scale"].split(",")], proficient


def plan(row: dict[str, Any], *, manage: bool, site_url: str, contextid: int) -> dict[str, Any]:
    """The ``plan_exporter`` shape; the ``can…``/``is…allowed`` flags follow status and rights."""
    status = row["status"]
    draft, active, complete = status == 0, status == 1, status == 2
    return {
        "name": format_string(row["name"]), "description": row["description"],
        "descriptionformat": row["descriptionformat"], "userid": row["userid"],
        "templateid": row["templateid"], "origtemplateid": row["origtemplateid"],
        "status": status, "duedate": row["duedate"], "reviewerid": row["reviewerid"],
        "id": row["id"], "timecreated": row["timecreated"],
        "timemodified": row["timemodified"], "usermodified": row["usermodified"],
        "statusname": PLAN_STATUS_NAMES.get(status, ""), "isbasedontemplate": False,
        "canmanage": manage, "canrequestreview": manage, "canreview": manage,
        "canbeedited": manage and not complete, "isactive": active, "isdraft": draft,
        "iscompleted": complete, "isinreview": status == 4, "iswaitingforreview": status == 3,
        "isreopenallowed": manage and complete, "iscompleteallowed": manage and active,
        "isunlinkallowed": False, "isrequestreviewallowed": manage and draft,
        "iscancelreviewrequestallowed": False, "isstartreviewallowed": False,
        "isstopreviewallowed": False, "isapproveallowed": manage and draft,
        "isunapproveallowed": manage and active, "duedateformatted": userdate(row["duedate"]),
        "commentarea": _comment_area(row["id"], contextid, manage),
        "url": f"{site_url}/admin/tool/lp/plan.php?id={row['id']}",
    }


def _comment_area(planid: int, contextid: int, manage: bool) -> dict[str, Any]:
    template = (
        '<div class="comment-message"><div class="comment-message-meta me-3">'
        '<span class="picture">___picture___</span><span class="user">___name___</span> - '
        '<span class="time">___time___</span></div><div class="text">___content___</div></div>'
    )
    return {
        "component": "competency", "commentarea": "plan", "itemid": planid, "courseid": 1,
        "contextid": contextid, "cid": f"plancommentarea{planid}", "autostart": False,
        "canpost": manage, "canview": True, "count": 0, "collapsediconkey": "t/collapsed",
        "displaytotalcount": True, "displaycancel": False, "fullwidth": True,
        "linktext": "Comments", "notoggle": False, "template": template,
        "canpostorhascomments": manage,
    }
