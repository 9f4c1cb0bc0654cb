"""The sandbox's legacy totara_competency_* functions take Totara's own parameter names and
answer in Totara's shapes (Totara 13.1 source, server/totara/competency/classes/external.php)."""

from __future__ import annotations

from typing import Any

import pytest

from connector.sandbox import create_app, state_of
from connector.sandbox.totara.site import TotaraSite
from tests.unit.sandbox.test_behaviour import TOKEN, call


@pytest.fixture
def client() -> Any:
    app = create_app(admin_token=TOKEN, totara=TotaraSite(release="17", client_secret="s" * 16))
    with state_of(app).transaction() as db:
        db.insert("comp_framework", id=5, idnumber="FW", fullname="Skills & more")
        db.insert("comp", id=7, frameworkid=5, idnumber="C-1", fullname="Negotiates")
        db.execute("UPDATE course SET visible = 0 WHERE shortname = 'COMM-120'")
    return app.test_client()


def course_id(client: Any, shortname: str) -> int:
    [course] = call(client, "core_course_get_courses_by_field", ("field", "shortname"),
                    ("value", shortname))["courses"]
    return int(course["id"])


def test_set_replaces_the_whole_list_and_get_reads_it_back(client: Any) -> None:
    neg, talk, hidden = (course_id(client, s) for s in ("COMM-200", "COMM-140", "COMM-120"))
    courses = [("courses[0][id]", str(neg)), ("courses[0][mandatory]", "1"),
               ("courses[1][id]", str(hidden)), ("courses[1][mandatory]", "0")]
    assert call(client, "totara_competency_set_linked_courses", ("competency_id", "7"),
                *courses) is None
    linked = call(client, "totara_competency_get_linked_courses", ("competency_id", "7"))
    # the hidden course is dropped without a word, as Totara's set_linked_courses does
    assert linked == {"items": [{"id": neg, "mandatory": True,
                                 "fullname": "Negotiation Essentials"}]}
    call(client, "totara_competency_set_linked_courses", ("competency_id", "7"),
         ("courses[0][id]", str(talk)), ("courses[0][mandatory]", "0"))
    after = call(client, "totara_competency_get_linked_courses", ("competency_id", "7"))
    assert [(c["id"], c["mandatory"]) for c in after["items"]] == [(talk, False)]


def test_moodle_style_names_are_refused_and_frameworks_have_no_idnumber(client: Any) -> None:
    refused = call(client, "totara_competency_get_linked_courses", ("competencyid", "7"))
    assert refused["errorcode"] == "invalidparameter"
    assert call(client, "totara_competency_get_frameworks") == {
        "items": [{"id": 5, "fullname": "Skills &amp; more"}]}
