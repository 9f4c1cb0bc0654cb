"""``core_completion``: course completion status and self completion.

Completion itself is only recorded by Moodle's scheduled task (``completion_regular_task``); the
sandbox runs it when a test asks (:func:`run_completion_task`, ``POST /_sandbox/cron``).
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import MoodleError
from connector.sandbox.exporters import must_get
from connector.sandbox.params import req
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_completion")
CRITERIA_SELF = 1
STUDENT_ARCHETYPE = "student"


def is_tracked(db: Db, courseid: int, userid: int) -> bool:
    """Tracked users are those actively enrolled with a student role."""
    return bool(db.scalar(
        "SELECT 1 FROM user_enrolments e JOIN role r ON r.id = e.roleid "
        "WHERE e.courseid = ? AND e.userid = ? AND e.status = 0 AND r.archetype = ?",
        (courseid, userid, STUDENT_ARCHETYPE),
    ))


def run_completion_task(db: Db) -> int:
    """Aggregate criteria into course completions (all criteria needed); return how many."""
    done = 0
    pending = db.all("SELECT * FROM course_completions WHERE timecompleted IS NULL")
    for row in pending:
        criteria = db.all("SELECT id FROM course_completion_criteria WHERE course = ?",
                          (row["course"],))
        if not criteria:
            continue
        times = [db.scalar(
            "SELECT timecompleted FROM course_completion_crit_compl "
            "WHERE userid = ? AND criteriaid = ?", (row["userid"], crit["id"]))
            for crit in criteria]
        if all(times):
            db.update("course_completions", row["id"], timecompleted=max(times))
            done += 1
    return done


@area.function("core_completion_get_course_completion_status",
               {"courseid": req("int"), "userid": req("int")})
def get_course_completion_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Completion of one user in one course, per criterion."""
    course = must_get(call.db, "course", params["courseid"])
    user = must_get(call.db, "user", params["userid"])
    if user["id"] != call.userid and not call.is_admin:
        raise MoodleError("cannotviewreport", "Cannot view the report")
    if not course["enablecompletion"]:
        raise MoodleError("cannotviewreport", "Cannot view the report")
    if not is_tracked(call.db, course["id"], user["id"]):
        if user["id"] == call.userid:
            raise MoodleError("notenroled", "You are not enrolled in this course")
        raise MoodleError("usernotenroled", "User is not enrolled in this course")
    criteria = call.db.all("SELECT * FROM course_completion_criteria WHERE course = ? ORDER BY id",
                           (course["id"],))
    if not criteria:
        raise MoodleError("nocriteriaset", "No completion criteria set for this course")
    completions = []
    for criterion in criteria:
        done = call.db.scalar(
            "SELECT timecompleted FROM course_completion_crit_compl WHERE userid = ? "
            "AND criteriaid = ?", (user["id"], criterion["id"]))
        completions.append({
            "type": criterion["criteriatype"], "title": "Self completion",
            "status": "Yes" if done else "No", "complete": bool(done), "timecompleted": done,
            "details": {"type": "Self completion", "criteria": "Self completion",
                        "requirement": "Marking yourself complete", "status": ""},
        })
    completed = call.db.scalar(
        "SELECT timecompleted FROM course_completions WHERE userid = ? AND course = ?",
        (user["id"], course["id"]))
    return {"completionstatus": {"completed": bool(completed), "aggregation": 1,
                                 "completions": completions}, "warnings": []}


@area.function("core_completion_mark_course_self_completed", {"courseid": req("int")})
def mark_course_self_completed(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The token's user marks the course complete; the course completes at the next cron."""
    course = must_get(call.db, "course", params["courseid"])
    if not course["enablecompletion"]:
        raise MoodleError("completionnotenabled", "Completion is not enabled for this course")
    if not is_tracked(call.db, course["id"], call.userid):
        raise MoodleError("nottracked",
                          "You are currently not being tracked by completion in this course")
    criterion = call.db.one(
        "SELECT id FROM course_completion_criteria WHERE course = ? AND criteriatype = ?",
        (course["id"], CRITERIA_SELF))
    if criterion is None:
        raise MoodleError("noselfcompletioncriteria",
                          "This course does not have self completion enabled")
    if not call.db.scalar("SELECT 1 FROM course_completion_crit_compl WHERE userid = ? "
                          "AND criteriaid = ?", (call.userid, criterion["id"])):
        call.db.insert("course_completion_crit_compl", userid=call.userid, course=course["id"],
                       criteriaid=criterion["id"], timecompleted=call.now)
    return {"status": True, "warnings": []}
