"""The sandbox's tag functions and course search answer as Moodle's definitions say
(tag/classes/external.php, course/externallib.php): the shapes a client reads course tags by."""

from __future__ import annotations

from typing import Any

import pytest

from connector.sandbox import create_app, state_of
from connector.sandbox.catalogue import COURSE_TAGS
from tests.unit.sandbox.test_behaviour import TOKEN, call


@pytest.fixture
def client() -> Any:
    return create_app(admin_token=TOKEN).test_client()


def course_area(client: Any) -> dict[str, Any]:
    areas = call(client, "core_tag_get_tag_areas")["areas"]
    return next(a for a in areas if (a["component"], a["itemtype"]) == ("core", "course"))


def index(client: Any, tag: str, area: dict[str, Any]) -> Any:
    return call(client, "core_tag_get_tagindex_per_area", ("tagindex[tag]", tag),
                ("tagindex[tc]", str(area["tagcollid"])), ("tagindex[ta]", str(area["id"])))


def test_the_course_area_and_the_cloud_of_every_tag_in_use(client: Any) -> None:
    area = course_area(client)
    assert area["enabled"] is True and set(area) >= {"id", "tagcollid", "callback"}
    cloud = call(client, "core_tag_get_tag_cloud", ("tagcollid", str(area["tagcollid"])),
                 ("limit", "0"))
    names = {t["name"] for t in cloud["tags"]}
    seeded = {tag for tags in COURSE_TAGS.values() for tag in tags}
    assert seeded <= names and "hiking" in names  # user interests share the collection
    assert cloud["tagscount"] == cloud["totalcount"] == len(names)
    assert all("id" not in t and t["viewurl"].startswith("http") for t in cloud["tags"])
    compliance = next(t for t in cloud["tags"] if t["name"] == "compliance")
    assert compliance["count"] == 4


def test_the_cloud_keeps_the_most_used_tags_under_a_limit(client: Any) -> None:
    cloud = call(client, "core_tag_get_tag_cloud", ("limit", "3"))
    assert cloud["tagscount"] == 3 and cloud["totalcount"] > 3
    # 4, 4, then coaching and onboarding tie at 3 and the name decides (Moodle's ORDER BY)
    assert {t["name"] for t in cloud["tags"]} == {"mandatory", "compliance", "coaching"}


def test_the_tag_index_gives_the_id_only_where_courses_carry_the_tag(client: Any) -> None:
    area = course_area(client)
    [entry] = index(client, "Data Protection", area)
    assert (entry["ta"], entry["component"], entry["itemtype"]) == (area["id"], "core", "course")
    found = call(client, "core_course_search_courses", ("criterianame", "tagid"),
                 ("criteriavalue", str(entry["tagid"])))
    assert {c["shortname"] for c in found["courses"]} == {"DATA-200", "COMP-140"}
    assert found["total"] == 2 and "idnumber" not in found["courses"][0]
    assert index(client, "hiking", area) == []  # only on a user's interests
    missing = index(client, "no such tag", area)
    assert (missing["errorcode"], missing["message"]) == ("notagsfound",
                                                          'No tags matching "" found')


def test_search_refuses_an_unknown_criterion_and_never_returns_the_front_page(
        client: Any) -> None:
    refused = call(client, "core_course_search_courses", ("criterianame", "idnumber"),
                   ("criteriavalue", "x"))
    assert refused["errorcode"] == "invalidparameter"
    words = call(client, "core_course_search_courses", ("criterianame", "search"),
                 ("criteriavalue", "sandbox"), ("perpage", "5"))
    assert all(c["id"] != 1 for c in words["courses"])
    page = call(client, "core_course_search_courses", ("criterianame", "search"),
                ("criteriavalue", "data"), ("page", "1"), ("perpage", "2"))
    assert len(page["courses"]) == 2 and page["total"] > 2


def test_tags_switched_off_answer_tagsaredisabled(client: Any) -> None:
    state_of(client.application).db.insert("config", name="usetags", value="0")
    answer = call(client, "core_tag_get_tag_areas")
    assert (answer["errorcode"], answer["message"]) == ("tagsaredisabled", "Tags are disabled")
