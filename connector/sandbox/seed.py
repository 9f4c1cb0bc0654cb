"""Seeding: the blank Moodle 4.5 site every sandbox starts from, and the believable company.

The blank site has what a fresh Moodle has (guest 1, admin 2, front page course 1, system
context 1, the standard roles, scale 2 "Default competence scale"), plus a custom line-manager
role (id 9) assignable in the user context. ``populate`` adds a deterministic company: courses
with completion criteria, a few hundred users, managers, enrolments, completions.
"""

from __future__ import annotations

import random
import unicodedata

from connector.sandbox.catalogue import (
    CATEGORIES,
    COURSE_TAGS,
    COURSES,
    DEPARTMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    USER_INTERESTS,
)
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.functions.courses import insert_course
from connector.sandbox.functions.reportbuilder import create_completion_report
from connector.sandbox.functions.tags import create_tag_tables, tag_item
from connector.sandbox.passwords import hash_password
from connector.sandbox.schema import CONTEXT_SYSTEM, SCHEMA
from connector.sandbox.state import Db

SITENAME = "Northwind Learning (sandbox)"
SERVICE_SHORTNAME = "lms_sidecar"
LEARNER_PASSWORD = "Sandbox-learner-1"  # noqa: S105 - documented sandbox login
DAY = 86400
SEED = 20261122
LINE_MANAGER_CAPABILITIES = (
    "moodle/competency:planview,moodle/competency:planviewdraft,"
    "moodle/competency:usercompetencyview"
)
# id, shortname, name, archetype, context levels (system 10, category 40, course 50, user 30)
ROLES = [
    (1, "manager", "Manager", "manager", "10,40,50"),
    (2, "coursecreator", "Course creator", "coursecreator", "10,40"),
    (3, "editingteacher", "Teacher", "editingteacher", "40,50"),
    (4, "teacher", "Non-editing teacher", "teacher", "40,50"),
    (5, "student", "Student", "student", "50"),
    (6, "guest", "Guest", "guest", ""),
    (7, "user", "Authenticated user", "user", ""),
    (8, "frontpage", "Authenticated user on site home", "frontpage", ""),
    (9, "linemanager", "Line manager", "", "30"),
]


def create_blank_site(db: Db, now: int, admin_password: str) -> None:
    """Tables and the records a fresh Moodle 4.5 site has."""
    db.conn.executescript(SCHEMA)
    create_tag_tables(db)
    db.insert("config", name="sitename", value=SITENAME)
    db.insert("context", id=1, contextlevel=CONTEXT_SYSTEM, instanceid=0)
    db.insert("user", id=1, username="guest", password=hash_password("", "guest"),
              firstname="Guest user", lastname=" ", email="root@localhost", timecreated=now)
    db.insert("user", id=2, username="admin", password=hash_password(admin_password, "admin"),
              firstname="Admin", lastname="User", email="admin@example.com", siteadmin=1,
              timecreated=now)
    for userid in (1, 2):
        db.user_context(userid)
    for roleid, shortname, name, archetype, levels in ROLES:
        caps = LINE_MANAGER_CAPABILITIES if shortname == "linemanager" else ""
        db.insert("role", id=roleid, shortname=shortname, name=name, sortorder=roleid,
                  archetype=archetype, contextlevels=levels, capabilities=caps)
    db.insert("course_categories", id=1, name="Category 1", sortorder=10000)
    db.insert("course", id=1, category=0, sortorder=1, fullname=SITENAME, shortname="sandbox",
              summary="A Moodle-compatible sandbox for lms-sidecar", format="site",
              newsitems=3, timecreated=now, timemodified=now, cacherev=now)
    db.course_context(1)
    db.insert("scale", id=1, name="Separate and Connected ways of knowing",
              scale="Mostly separate knowing,Separate and connected,Mostly connected knowing")
    db.insert("scale", id=2, name="Default competence scale", scale="Not yet competent,Competent")
    serviceid = db.insert("external_services", name="lms-sidecar", shortname=SERVICE_SHORTNAME)
    for name in FUNCTIONS:
        db.insert("external_services_functions", externalserviceid=serviceid, functionname=name)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def populate(db: Db, now: int) -> None:
    """Add the believable company (deterministic: fixed random seed, times relative to today)."""
    rng = random.Random(SEED)
    today = now // DAY * DAY
    category_ids = [db.insert("course_categories", name=name, sortorder=10000 * (index + 2))
                    for index, name in enumerate(CATEGORIES)]
    courses = []
    for index, (category, shortname, fullname, summary) in enumerate(COURSES):
        start = today - rng.randint(30, 400) * DAY
        courseid = insert_course(db, today - 420 * DAY, {
            "categoryid": category_ids[category], "shortname": shortname, "fullname": fullname,
            "idnumber": shortname, "summary": f"<p>{summary}</p>", "startdate": start,
            "enablecompletion": 1})
        if index % 6 != 5:
            db.insert("course_completion_criteria", course=courseid, criteriatype=1)
        courses.append(courseid)
        for tag in COURSE_TAGS.get(shortname, ()):
            tag_item(db, today, tag, itemtype="course", itemid=courseid,
                     contextid=db.course_context(courseid))
    users = _people(db, rng, today)
    for (userid, _), tag in zip(users, USER_INTERESTS, strict=False):
        tag_item(db, today, tag, itemtype="user", itemid=userid, contextid=db.user_context(userid))
    _managers(db, rng, users, now)
    _enrol(db, rng, users, courses, today)
    create_completion_report(db, today - 60 * DAY, "Course completions", None)


def _people(db: Db, rng: random.Random, today: int) -> list[tuple[int, str]]:
    users: list[tuple[int, str]] = []
    taken: set[str] = set()
    learner_hash = hash_password(LEARNER_PASSWORD, "learner")
    for number in range(1, 301):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{_ascii(first)}.{_ascii(last)}"
        username = base if base not in taken else f"{base}{number}"
        taken.add(username)
        department = rng.choice(DEPARTMENTS)
        joined = today - rng.randint(20, 1500) * DAY
        userid = db.insert(
            "user", username=username, password=learner_hash, firstname=first, lastname=last,
            email=f"{username}@northwind.example", idnumber=f"EMP-{number:04d}",
            department=department, institution="Northwind Traders", city="London",
            firstaccess=joined, lastaccess=today - rng.randint(0, 20) * DAY, timecreated=joined)
        db.user_context(userid)
        users.append((userid, department))
    return users


def _managers(db: Db, rng: random.Random, users: list[tuple[int, str]], now: int) -> None:
    """Two or three line managers per department, each assigned to their reports."""
    by_department: dict[str, list[int]] = {}
    for userid, department in users:
        by_department.setdefault(department, []).append(userid)
    for members in by_department.values():
        managers = members[: min(3, max(1, len(members) // 10))]
        for learner in members:
            if learner in managers:
                continue
            manager = rng.choice(managers)
            db.insert("role_assignments", roleid=9, contextid=db.user_context(learner),
                      userid=manager, timemodified=now)


def _enrol(db: Db, rng: random.Random, users: list[tuple[int, str]], courses: list[int],
           today: int) -> None:
    criteria = {row["course"]: row["id"] for row in db.all(
        "SELECT id, course FROM course_completion_criteria WHERE criteriatype = 1")}
    for userid, _ in users:
        for courseid in rng.sample(courses, rng.randint(2, 6)):
            enrolled = today - rng.randint(10, 300) * DAY
            db.insert("user_enrolments", courseid=courseid, userid=userid, roleid=5,
                      timestart=enrolled, timecreated=enrolled)
            completed = None
            if courseid in criteria and rng.random() < 0.4:
                completed = enrolled + rng.randint(1, 9) * DAY + rng.randint(0, 8 * 3600)
                db.insert("course_completion_crit_compl", userid=userid, course=courseid,
                          criteriaid=criteria[courseid], timecompleted=completed)
                db.insert("user_lastaccess", userid=userid, courseid=courseid,
                          timeaccess=completed - 600)
            db.insert("course_completions", userid=userid, course=courseid,
                      timeenrolled=enrolled, timecompleted=completed)
