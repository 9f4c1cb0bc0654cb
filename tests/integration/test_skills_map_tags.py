"""Course tags in `sidecar map suggest`: read from the sandbox Moodle with the tag functions,
without a call per course, shown in the evidence; a service without them still suggests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.moodle.client import MoodleClient
from connector.sandbox import state_of
from connector.sandbox.catalogue import COURSE_TAGS, USER_INTERESTS
from connector.sandbox.control import create_service, create_token
from connector.sandbox.functions import FUNCTIONS
from skills_map.tags import FUNCTION_NAMES, read_course_tags
from tests.integration.test_skills_map import Admin

pytestmark = pytest.mark.integration


def test_every_course_tag_is_read_with_calls_per_tag_not_per_course(client: MoodleClient):
    client.stats.reset()
    tags = read_course_tags(client)
    calls = client.stats.calls
    by_function = {c.function: c.calls for c in client.stats.by_function()}
    names = {c.id: c.shortname for c in client.courses_by_field()}
    assert tags.unavailable is None
    assert {names[cid]: set(t) for cid, t in tags.by_course.items()} == {
        course: set(t) for course, t in COURSE_TAGS.items()}
    on_courses = {t.lower() for ts in COURSE_TAGS.values() for t in ts}
    in_use = on_courses | set(USER_INTERESTS)
    # areas + cloud, one index look-up per tag in use, one search per tag on courses
    assert tags.calls == calls == 2 + len(in_use) + len(on_courses)
    assert by_function["core_course_search_courses"] == len(on_courses)


def test_suggest_shows_the_tags_that_matched(tmp_path: Path, sandbox):
    admin = Admin(tmp_path, sandbox)
    assert admin.run("apply").exit_code == 0
    result = admin.run("map", "suggest", "--json")
    suggested = json.loads(result.stdout)
    assert suggested["notes"] == [] and "course tags not read" not in result.stderr
    rows = {(s["course"], s["competency"]): s for s in suggested["suggestions"]}
    assert rows[("COMM-200", "WS-COMM-NEGOTIATE")]["evidence"][0] == "tag: negotiation"


def test_without_the_tag_functions_suggestions_run_and_say_so_once(tmp_path: Path, sandbox):
    db = state_of(sandbox.app).db
    create_service(db, "no tags", "notags",
                   sorted(set(FUNCTIONS) - set(FUNCTION_NAMES)))
    token = create_token(db, 0, user="admin", service="notags")
    admin = Admin(tmp_path, sandbox)
    assert admin.run("apply").exit_code == 0
    admin.env["SIDECAR_LMS__TOKEN"] = token
    result = admin.run("map", "suggest", "--json")
    assert result.exit_code == 0
    suggested = json.loads(result.stdout)
    [note] = suggested["notes"]
    assert "core_tag_get_tag_areas" in note and token not in result.stderr
    assert result.stderr.count("course tags not read") == 1
    assert all(not e.startswith("tag: ") for s in suggested["suggestions"] for e in s["evidence"])
    assert {(s["course"], s["competency"]) for s in suggested["suggestions"]} >= {
        ("COMM-200", "WS-COMM-NEGOTIATE")}
    checked = admin.run("check", "--json")
    report = json.loads(checked.stdout)
    skills = next(f for f in report["features"] if f["key"] == "skills_map")
    assert skills["ready"] and set(skills["missing_optional"]) == set(FUNCTION_NAMES)


def test_tags_switched_off_on_the_site_give_a_note_not_an_error(client: MoodleClient, sandbox):
    with state_of(sandbox.app).transaction() as db:
        db.insert("config", name="usetags", value="0")
    tags = read_course_tags(client)
    assert tags.by_course == {} and tags.calls == 0
    assert tags.unavailable is not None and "tags are disabled on the site" in tags.unavailable
