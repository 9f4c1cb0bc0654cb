"""``core_competency`` learning plans: lifecycle, plan competencies, rating in a plan.

A manager sees a learner's plans through a role assigned in the learner's user context that
grants ``moodle/competency:planview`` (Moodle's way; see contract items 134-142).
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.encoding import php_json
from connector.sandbox.errors import CapabilityError, CodingError, MoodleError, PersistentError
from connector.sandbox.exporters import (
    competency,
    must_get,
    plan,
    scale_values,
    user_summary,
    userdate,
)
from connector.sandbox.params import Single, dflt, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.schema import CONTEXT_USER
from connector.sandbox.state import Db

area = Area("core_competency_plans")
MANAGE = "Manage learning plans"
VIEW_ALL = "View all learning plans"
DRAFT, ACTIVE, COMPLETE = 0, 1, 2
DRAFT_STATUSES = (DRAFT, 3, 4)  # draft, waiting for review, in review
DUEDATE_THRESHOLD = 600


def check_duedate(call: Call, status: int, duedate: int,
                  before: dict[str, Any] | None = None) -> None:
    """Moodle's plan::validate_duedate: an active plan cannot get a due date in the past or
    within ten minutes; drafts, completed plans and an unchanged date are not checked."""
    if status in DRAFT_STATUSES or status == COMPLETE or not duedate:
        return
    if before is not None and before["duedate"] == duedate and \
            before["status"] not in DRAFT_STATUSES:
        return
    if duedate <= call.now:
        raise PersistentError("duedate", "The due date cannot be set in the past.")
    if duedate <= call.now + DUEDATE_THRESHOLD:
        raise PersistentError("duedate", "The due date is too soon.")


def has_capability(db: Db, userid: int, capability: str, learnerid: int) -> bool:
    """Whether ``userid`` holds ``capability`` in the learner's user context (or is admin)."""
    user = db.one("SELECT siteadmin FROM user WHERE id = ?", (userid,))
    if user and user["siteadmin"]:
        return True
    roles = db.all(
        "SELECT r.capabilities FROM role_assignments a JOIN role r ON r.id = a.roleid "
        "JOIN context c ON c.id = a.contextid WHERE a.userid = ? AND "
        "((c.contextlevel = ? AND c.instanceid = ?) OR c.contextlevel = 10)",
        (userid, CONTEXT_USER, learnerid))
    return any(capability in role["capabilities"].split(",") for role in roles)


def can_read(call: Call, row: dict[str, Any]) -> bool:
    if row["userid"] == call.userid or call.is_admin:
        return True
    needed = "moodle/competency:planviewdraft" if row["status"] == DRAFT else \
        "moodle/competency:planview"
    return has_capability(call.db, call.userid, needed, row["userid"])


def export(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    return plan(row, manage=call.is_admin, site_url=call.site_url,
                contextid=call.db.user_context(row["userid"]))


def readable_plan(call: Call, planid: int) -> dict[str, Any]:
    row = must_get(call.db, "competency_plan", planid)
    if not can_read(call, row):
        raise CapabilityError(VIEW_ALL)
    return row


def managed_plan(call: Call, planid: int) -> dict[str, Any]:
    row = must_get(call.db, "competency_plan", planid)
    if not call.is_admin:
        raise CapabilityError(MANAGE)
    return row


PLAN_FIELDS = {"name": req(), "description": dflt("raw", ""), "descriptionformat": dflt("int", 1),
               "userid": req("int"), "templateid": opt("int"), "origtemplateid": opt("int"),
               "status": dflt("int", DRAFT), "duedate": dflt("int", 0), "reviewerid": opt("int")}


@area.function("core_competency_create_plan", {"plan": Single(PLAN_FIELDS)}, capability=MANAGE)
def create_plan(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    data = params["plan"]
    must_get(call.db, "user", data["userid"])
    if data["status"] not in (DRAFT, ACTIVE):
        raise PersistentError("status", "Invalid status")
    check_duedate(call, data["status"], data["duedate"])
    planid = call.db.insert(
        "competency_plan", name=data["name"], description=data["description"],
        descriptionformat=data["descriptionformat"], userid=data["userid"],
        templateid=data.get("templateid"), origtemplateid=data.get("origtemplateid"),
        status=data["status"], duedate=data["duedate"], reviewerid=data.get("reviewerid"),
        timecreated=call.now, timemodified=call.now, usermodified=call.userid)
    return export(call, must_get(call.db, "competency_plan", planid))


@area.function("core_competency_read_plan", {"id": req("int")})
def read_plan(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return export(call, readable_plan(call, params["id"]))


@area.function("core_competency_list_user_plans", {"userid": req("int")})
def list_user_plans(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """A learner's plans, newest first; others need planview in the learner's context."""
    learner = must_get(call.db, "user", params["userid"])
    allowed = learner["id"] == call.userid or has_capability(
        call.db, call.userid, "moodle/competency:planview", learner["id"])
    if not allowed:
        raise CapabilityError(VIEW_ALL)
    rows = call.db.all("SELECT * FROM competency_plan WHERE userid = ? ORDER BY id DESC",
                       (learner["id"],))
    return [export(call, row) for row in rows if can_read(call, row)]


UPDATE_FIELDS = {"id": req("int"), **{key: opt(spec.type) for key, spec in PLAN_FIELDS.items()
                                       if key != "userid"}}


@area.function("core_competency_update_plan", {"plan": Single(UPDATE_FIELDS)}, capability=MANAGE)
def update_plan(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Edit a plan; a completed plan cannot be edited and status changes have their own calls."""
    data = dict(params["plan"])
    row = managed_plan(call, data.pop("id"))
    if row["status"] == COMPLETE:
        raise CodingError("Completed plan cannot be edited.")
    if "status" in data and data["status"] != row["status"]:
        raise CodingError("To change the status of a plan use the appropriate methods.")
    check_duedate(call, row["status"], data.get("duedate", row["duedate"]), row)
    call.db.update("competency_plan", row["id"], **data, timemodified=call.now,
                   usermodified=call.userid)
    return export(call, must_get(call.db, "competency_plan", row["id"]))


def _set_status(call: Call, planid: int, allowed_from: tuple[int, ...], status: int,
                refusal: str) -> dict[str, Any]:
    row = managed_plan(call, planid)
    if row["status"] not in allowed_from:
        raise CodingError(refusal)
    check_duedate(call, status, row["duedate"], row)
    call.db.update("competency_plan", row["id"], status=status, timemodified=call.now,
                   usermodified=call.userid)
    return row


@area.function("core_competency_approve_plan", {"id": req("int")}, capability=MANAGE)
def approve_plan(call: Call, params: dict[str, Any]) -> bool:
    _set_status(call, params["id"], (DRAFT, 3, 4), ACTIVE, "The plan cannot be approved.")
    return True


@area.function("core_competency_complete_plan", {"planid": req("int")}, capability=MANAGE)
def complete_plan(call: Call, params: dict[str, Any]) -> bool:
    """Complete an active plan; ratings are archived in ``usercompetencyplan``."""
    row = _set_status(call, params["planid"], (ACTIVE,), COMPLETE, "The plan cannot be completed.")
    links = call.db.all("SELECT * FROM competency_plancomp WHERE planid = ? ORDER BY sortorder",
                        (row["id"],))
    for index, link in enumerate(links):
        rating = call.db.one("SELECT * FROM competency_usercomp WHERE userid = ? AND "
                             "competencyid = ?", (row["userid"], link["competencyid"])) or {}
        call.db.insert("competency_usercompplan", userid=row["userid"],
                       competencyid=link["competencyid"], proficiency=rating.get("proficiency"),
                       grade=rating.get("grade"), planid=row["id"], sortorder=index,
                       timecreated=call.now, timemodified=call.now, usermodified=call.userid)
    return True


@area.function("core_competency_reopen_plan", {"planid": req("int")}, capability=MANAGE)
def reopen_plan(call: Call, params: dict[str, Any]) -> bool:
    row = _set_status(call, params["planid"], (COMPLETE,), ACTIVE, "The plan cannot be reopened.")
    call.db.execute("DELETE FROM competency_usercompplan WHERE planid = ?", (row["id"],))
    return True


@area.function("core_competency_delete_plan", {"id": req("int")}, capability=MANAGE)
def delete_plan(call: Call, params: dict[str, Any]) -> bool:
    row = managed_plan(call, params["id"])
    for table in ("competency_plancomp", "competency_usercompplan"):
        call.db.execute(f"DELETE FROM {table} WHERE planid = ?", (row["id"],))  # noqa: S608
    call.db.execute("DELETE FROM competency_plan WHERE id = ?", (row["id"],))
    return True


@area.function("core_competency_add_competency_to_plan",
               {"planid": req("int"), "competencyid": req("int")}, capability=MANAGE)
def add_to_plan(call: Call, params: dict[str, Any]) -> bool:
    row = managed_plan(call, params["planid"])
    comp = must_get(call.db, "competency", params["competencyid"])
    if row["status"] == COMPLETE:
        raise CodingError("A competency can not be added to a learning plan completed")
    if not call.db.scalar("SELECT 1 FROM competency_plancomp WHERE planid = ? AND competencyid = ?",
                          (row["id"], comp["id"])):
        sortorder = call.db.scalar("SELECT COUNT(*) FROM competency_plancomp WHERE planid = ?",
                                   (row["id"],))
        call.db.insert("competency_plancomp", planid=row["id"], competencyid=comp["id"],
                       sortorder=sortorder, timecreated=call.now)
    return True


@area.function("core_competency_remove_competency_from_plan",
               {"planid": req("int"), "competencyid": req("int")}, capability=MANAGE)
def remove_from_plan(call: Call, params: dict[str, Any]) -> bool:
    row = managed_plan(call, params["planid"])
    if row["status"] == COMPLETE:
        raise CodingError("A competency can not be removed from a learning plan completed")
    call.db.execute("DELETE FROM competency_plancomp WHERE planid = ? AND competencyid = ?",
                    (row["id"], params["competencyid"]))
    rest = call.db.all("SELECT id FROM competency_plancomp WHERE planid = ? ORDER BY sortorder",
                       (row["id"],))
    for index, item in enumerate(rest):
        call.db.update("competency_plancomp", item["id"], sortorder=index)
    return True


def _rating(call: Call, comp: dict[str, Any], grade: int | None) -> tuple[str, str]:
    if grade is None:
        return "-", "No"
    names, proficient = scale_values(call.db, comp)
    return names[grade - 1], "Yes" if proficient.get(grade) else "No"


def _user_competency(call: Call, userid: int, comp: dict[str, Any]) -> dict[str, Any]:
    row = call.db.one("SELECT * FROM competency_usercomp WHERE userid = ? AND competencyid = ?",
                      (userid, comp["id"])) or {
        "userid": userid, "competencyid": comp["id"], "status": 0, "reviewerid": None,
        "proficiency": None, "grade": None, "id": 0, "timecreated": 0, "timemodified": 0,
        "usermodified": 0}
    gradename, _ = _rating(call, comp, row["grade"])
    manage = call.is_admin
    out = {key: row[key] for key in ("userid", "competencyid", "status", "reviewerid")}
    out["proficiency"] = None if row["proficiency"] is None else bool(row["proficiency"])
    out.update({key: row[key] for key in ("grade", "id", "timecreated", "timemodified",
                                          "usermodified")})
    out.update({
        "canrequestreview": manage, "canreview": manage, "gradename": gradename,
        "isrequestreviewallowed": manage, "iscancelreviewrequestallowed": False,
        "isstartreviewallowed": False, "isstopreviewallowed": False, "isstatusidle": True,
        "isstatusinreview": False, "isstatuswaitingforreview": False,
        "proficiencyname": "Yes" if row["proficiency"] else "No", "statusname": "-",
        "url": f"{call.site_url}/admin/tool/lp/user_competency.php?id={row['id']}",
    })
    return out


@area.function("core_competency_list_plan_competencies", {"id": req("int")})
def list_plan_competencies(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Each competency with its rating: ``usercompetency``, or ``usercompetencyplan`` when done."""
    row = readable_plan(call, params["id"])
    links = call.db.all("SELECT * FROM competency_plancomp WHERE planid = ? ORDER BY sortorder",
                        (row["id"],))
    out = []
    for link in links:
        comp = must_get(call.db, "competency", link["competencyid"])
        item: dict[str, Any] = {"competency": competency(comp)}
        archived = call.db.one("SELECT * FROM competency_usercompplan WHERE planid = ? "
                               "AND competencyid = ?", (row["id"], comp["id"]))
        if row["status"] == COMPLETE and archived:
            gradename, profname = _rating(call, comp, archived["grade"])
            record = {key: archived[key] for key in (
                "userid", "competencyid", "proficiency", "grade", "planid", "sortorder", "id",
                "timecreated", "timemodified", "usermodified")}
            if record["proficiency"] is not None:
                record["proficiency"] = bool(record["proficiency"])
            item["usercompetencyplan"] = {**record, "gradename": gradename,
                                          "proficiencyname": profname}
        else:
            item["usercompetency"] = _user_competency(call, row["userid"], comp)
        out.append(item)
    return out


@area.function("core_competency_grade_competency_in_plan",
               {"planid": req("int"), "competencyid": req("int"), "grade": req("int"),
                "note": opt("raw")}, capability="Set competency rating")
def grade_in_plan(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Rate a competency in a plan; returns the evidence. Outside the scale: ``Invalid rating``."""
    row = readable_plan(call, params["planid"])
    comp = must_get(call.db, "competency", params["competencyid"])
    if not call.db.scalar("SELECT 1 FROM competency_plancomp WHERE planid = ? AND competencyid = ?",
                          (row["id"], comp["id"])):
        raise MoodleError("invalidrecord", "The competency does not belong to this plan.")
    names, proficient = scale_values(call.db, comp)
    grade = params["grade"]
    if not 1 <= grade <= len(names):
        raise PersistentError("grade", "Invalid rating")
    rating = call.db.one("SELECT id FROM competency_usercomp WHERE userid = ? AND competencyid = ?",
                         (row["userid"], comp["id"]))
    values = {"grade": grade, "proficiency": int(proficient.get(grade, False)),
              "timemodified": call.now, "usermodified": call.userid}
    if rating:
        usercompid = rating["id"]
        call.db.update("competency_usercomp", usercompid, **values)
    else:
        usercompid = call.db.insert("competency_usercomp", userid=row["userid"],
                                    competencyid=comp["id"], timecreated=call.now, **values)
    contextid = call.db.user_context(row["userid"])
    evidenceid = call.db.insert(
        "competency_evidence", usercompetencyid=usercompid, contextid=contextid, action=3,
        actionuserid=call.userid, descidentifier="evidence_manualoverrideinplan",
        desccomponent="core_competency", desca=php_json(row["name"]), grade=grade,
        note=params.get("note"), timecreated=call.now, timemodified=call.now,
        usermodified=call.userid)
    evidence = must_get(call.db, "competency_evidence", evidenceid)
    out = {key: evidence[key] for key in (
        "usercompetencyid", "contextid", "action", "actionuserid", "descidentifier",
        "desccomponent", "desca", "url", "grade", "note", "id", "timecreated", "timemodified",
        "usermodified")}
    out.update({
        "actionuser": user_summary(call.user, call.site_url),
        "description": "The competency rating was manually set in the learning plan "
                       f"'{row['name']}'.",
        "gradename": names[grade - 1], "userdate": userdate(call.now), "candelete": True,
    })
    return out
