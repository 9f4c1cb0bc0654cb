"""What a Moodle admin would do in the web UI (or Moodle's cron), as plain functions.

The admin endpoints and the tests call these: make a service or a token, switch on self
completion for a course, run the completion task, record a browser visit, build a report.
"""

from __future__ import annotations

import secrets

from connector.sandbox.exporters import must_get
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.functions.completion import CRITERIA_SELF, run_completion_task
from connector.sandbox.functions.reportbuilder import create_completion_report
from connector.sandbox.state import Db


class ControlError(ValueError):
    """A control request that cannot be carried out (unknown user, function, service...)."""


def create_service(db: Db, name: str, shortname: str, functions: list[str]) -> int:
    """An external service listing ``functions`` (each must be one the sandbox knows)."""
    unknown = [name for name in functions if name not in FUNCTIONS]
    if unknown:
        raise ControlError(f"unknown functions: {', '.join(unknown)}")
    if db.scalar("SELECT 1 FROM external_services WHERE shortname = ?", (shortname,)):
        raise ControlError(f"service {shortname} exists already")
    serviceid = db.insert("external_services", name=name, shortname=shortname)
    for function in functions:
        db.insert("external_services_functions", externalserviceid=serviceid,
                  functionname=function)
    return serviceid


def create_token(db: Db, now: int, *, user: int | str, service: str, token: str | None = None,
                 validuntil: int = 0, calls: int | None = None) -> str:
    """A token for ``user`` (id or username) on ``service``.

    It may expire at ``validuntil`` or after ``calls`` calls.
    """
    column = "id" if isinstance(user, int) else "username"
    row = db.one(f"SELECT id FROM user WHERE {column} = ?", (user,))  # noqa: S608
    if row is None:
        raise ControlError(f"no user {user}")
    serviceid = db.scalar("SELECT id FROM external_services WHERE shortname = ?", (service,))
    if serviceid is None:
        raise ControlError(f"no service {service}")
    value = token or secrets.token_hex(16)
    db.insert("external_tokens", token=value, userid=row["id"], externalserviceid=serviceid,
              validuntil=validuntil, callsleft=calls, timecreated=now)
    return value


def expire_token(db: Db, token: str, *, validuntil: int | None = None,
                 calls: int | None = None) -> None:
    """Make an existing token expire at ``validuntil`` or after ``calls`` more calls."""
    if not db.scalar("SELECT 1 FROM external_tokens WHERE token = ?", (token,)):
        raise ControlError("no such token")
    if validuntil is not None:
        db.execute("UPDATE external_tokens SET validuntil = ? WHERE token = ?", (validuntil, token))
    if calls is not None:
        db.execute("UPDATE external_tokens SET callsleft = ? WHERE token = ?", (calls, token))


def enable_self_completion(db: Db, courseid: int) -> None:
    """Course completion with the "Self completion" criterion, as set in the course settings."""
    must_get(db, "course", courseid)
    db.execute("UPDATE course SET enablecompletion = 1 WHERE id = ?", (courseid,))
    if not db.scalar("SELECT 1 FROM course_completion_criteria WHERE course = ? AND "
                     "criteriatype = ?", (courseid, CRITERIA_SELF)):
        db.insert("course_completion_criteria", course=courseid, criteriatype=CRITERIA_SELF)


def run_cron(db: Db) -> dict[str, int]:
    """Moodle's scheduled completion task; returns how many course completions it recorded."""
    return {"completions": run_completion_task(db)}


def record_course_visit(db: Db, now: int, userid: int, courseid: int) -> None:
    """What a learner opening a course page in a browser leaves behind (``user_lastaccess``)."""
    must_get(db, "user", userid)
    must_get(db, "course", courseid)
    db.execute("INSERT INTO user_lastaccess (userid, courseid, timeaccess) VALUES (?, ?, ?) "
               "ON CONFLICT (userid, courseid) DO UPDATE SET timeaccess = excluded.timeaccess",
               (userid, courseid, now))
    db.execute("UPDATE user SET lastaccess = ?, firstaccess = CASE firstaccess WHEN 0 THEN ? "
               "ELSE firstaccess END WHERE id = ?", (now, now, userid))


def create_report(db: Db, now: int, name: str, courseidnumber: str | None) -> int:
    """A Report builder custom report of course participants with completion columns."""
    return create_completion_report(db, now, name, courseidnumber)
