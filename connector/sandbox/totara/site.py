"""A Totara site's own tables and set-up in the sandbox: API clients and tokens, job
assignments, perform goals and goal tasks, competencies loaded by HR Import, course links.

Totara keeps users and courses in the same tables as Moodle, so the sandbox's ``user`` and
``course`` tables serve both. Which operations the site offers follows the contract's
releases (:data:`OPERATIONS_BY_RELEASE`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from connector.sandbox.state import Db

RELEASES = ("17", "18", "19")
_R17 = frozenset({"totara_webapi_status", "core_user_users", "core_user_create_user",
                  "core_user_update_user", "core_user_delete_user", "totara_job_job_assignments",
                  "totara_job_create_job_assignment", "totara_job_update_job_assignment",
                  "totara_job_delete_job_assignment"})
_R18 = _R17 | {"core_course_courses", "enrol_manual_enrol_user", "perform_goal_create_goal",
               "perform_goal_user_goals", "perform_goal_view_goal", "perform_goal_update_goal",
               "perform_goal_delete_goal"}
_R19 = _R18 | {"perform_goal_get_goal_tasks", "perform_goal_create_goal_task",
               "perform_goal_update_goal_task", "perform_goal_delete_goal_task",
               "perform_goal_set_goal_task_progress", "totara_job_job_assignment"}
#: The contract's operations per release (perform goals put at 18: "18 to 20, unconfirmed").
OPERATIONS_BY_RELEASE: dict[str, frozenset[str]] = {"17": _R17, "18": _R18, "19": _R19}

#: Moodle web-service areas a Totara site does not have (its competencies are its own).
NOT_ON_TOTARA = ("core_competency_", "tool_lp_")

SCHEMA = """
CREATE TABLE IF NOT EXISTS totara_oauth_client (id INTEGER PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE, secret TEXT NOT NULL, userid INTEGER NOT NULL,
    lifetime INTEGER NOT NULL DEFAULT 3600, enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS totara_oauth_token (id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE, clientid INTEGER NOT NULL, expires INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS job_assignment (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    idnumber TEXT NOT NULL, managerid INTEGER, start_date INTEGER, end_date INTEGER);
CREATE TABLE IF NOT EXISTS perform_goal (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL,
    id_number TEXT, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    start_date TEXT, target_date TEXT, target_type TEXT NOT NULL DEFAULT 'date',
    target_value REAL, current_value REAL, status TEXT NOT NULL DEFAULT 'not_started',
    owner TEXT, context_id INTEGER, UNIQUE (userid, id_number));
CREATE TABLE IF NOT EXISTS perform_goal_task (id INTEGER PRIMARY KEY, goal_id INTEGER NOT NULL,
    description TEXT NOT NULL, resource_id INTEGER, resource_type TEXT,
    completed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS comp_framework (id INTEGER PRIMARY KEY, idnumber TEXT NOT NULL UNIQUE,
    fullname TEXT NOT NULL, shortname TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS comp (id INTEGER PRIMARY KEY, frameworkid INTEGER NOT NULL,
    idnumber TEXT NOT NULL UNIQUE, fullname TEXT NOT NULL, shortname TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '', parentid INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS comp_criteria_course (id INTEGER PRIMARY KEY,
    competencyid INTEGER NOT NULL, courseid INTEGER NOT NULL, mandatory INTEGER NOT NULL DEFAULT 1,
    UNIQUE (competencyid, courseid));
"""


@dataclass
class TotaraSite:
    """What makes the sandbox a Totara site: its release and API switches."""

    release: str = "19"
    api_enabled: bool = True
    operations: frozenset[str] = field(default_factory=frozenset)
    #: Whether a REST token's service may include the totara_competency_* functions
    #: (unconfirmed by the contract; tests flip it to see the plain refusal).
    legacy_competency_functions: bool = True
    #: The API client lms-sidecar signs in with (acting as the admin); the secret is random
    #: unless given.
    client_id: str = "lms-sidecar"
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    token_lifetime: int = 3600

    def __post_init__(self) -> None:
        if self.release not in RELEASES:
            raise ValueError(f"Totara release {self.release!r}: the sandbox plays "
                             f"{', '.join(RELEASES)}")
        self.operations = OPERATIONS_BY_RELEASE[self.release]


def install(db: Db) -> None:
    """Create Totara's tables (idempotent)."""
    db.conn.executescript(SCHEMA)


def create_api_client(db: Db, *, client_id: str | None = None, secret: str | None = None,
                      userid: int = 2, lifetime: int = 3600) -> tuple[str, str]:
    """An API client acting as ``userid``; returns (client id, secret)."""
    client_id = client_id or f"client-{secrets.token_hex(4)}"
    secret = secret or secrets.token_hex(16)
    db.insert("totara_oauth_client", client_id=client_id, secret=secret, userid=userid,
              lifetime=lifetime)
    return client_id, secret


def seed_job_assignments(db: Db) -> None:
    """Every learner reports to the first non-admin user (a believable small company)."""
    users = [row["id"] for row in db.all(
        "SELECT id FROM user WHERE id > 2 AND suspended = 0 ORDER BY id")]
    if not users or db.scalar("SELECT COUNT(*) FROM job_assignment"):
        return
    manager = users[0]
    for userid in users:
        db.insert("job_assignment", userid=userid, idnumber=f"JA-{userid}",
                  managerid=None if userid == manager else manager)
