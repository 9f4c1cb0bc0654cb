"""Typed calls, batching under max_input_vars, and the endpoint declarations."""

import json
import threading
import time

import pytest
import responses
from pydantic import BaseModel, ValidationError

from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.moodle.functions import REQUIREMENTS, requirements_for
from tests.unit.connector.conftest import REST, add_recording, form_of


def test_site_info_is_typed(rsps, client):
    add_recording(rsps, "01")
    site = client.site_info()
    assert site.release.startswith("4.5.6")
    assert site.username == "admin" and site.userid == 2 and site.userissiteadmin is True


def test_limited_service_lists_exactly_its_functions(rsps, client):
    add_recording(rsps, "89")
    assert client.site_info().function_names == {
        "core_webservice_get_site_info", "core_competency_list_competency_frameworks"}


def test_frameworks_are_typed_with_moodle_defaults(rsps, client):
    add_recording(rsps, "16")
    frameworks = client.list_frameworks()
    assert [f.idnumber for f in frameworks] == ["DIGCOMP-1122012808", "TMPFW-1122012808"]
    assert frameworks[0].visible is True and frameworks[0].scaleid == 2
    assert json.loads(frameworks[0].scaleconfiguration)[0] == {"scaleid": "2"}


def test_front_page_is_not_a_course(rsps, client):
    add_recording(rsps, "10")
    assert [c.shortname for c in client.courses_by_field()] == [
        "SEC101-1122012808", "DATA201-1122012808", "LEAD301-1122012808"]


def test_list_competencies_sends_recorded_filters(rsps, client):
    rec = add_recording(rsps, "28")
    framework_id = int(rec.form["filters[0][value]"])
    competencies = client.list_competencies(competencyframeworkid=framework_id)
    assert competencies and all(c.competencyframeworkid == framework_id for c in competencies)
    assert {c.path for c in competencies} >= {"/0/"}


def test_invalid_parameters_are_refused_before_anything_is_sent(rsps, client):
    with pytest.raises(ValueError, match="at least one filter"):
        client.list_competencies()
    with pytest.raises(ValidationError, match="shortname"):
        ep.CompetencyFields(shortname="x" * 101, idnumber="A")
    assert len(rsps.calls) == 0


def _users_callback(seen_counts):
    def callback(request):
        form = form_of(request)
        seen_counts.append(len(form))
        ids = [int(v) for k, v in form if k.startswith("values[")]
        return 200, {}, json.dumps([{"id": i, "username": f"u{i}"} for i in ids if i % 2])
    return callback


def test_long_lists_are_split_so_php_never_truncates(rsps, make_transport):
    seen: list[int] = []
    rsps.add_callback(responses.POST, REST, callback=_users_callback(seen))
    client = MoodleClient(make_transport(max_input_vars=1000))
    users = client.users_by_field("id", range(2500))
    assert len(seen) == 3 and max(seen) <= 1000
    assert [u.id for u in users] == [i for i in range(2500) if i % 2]  # order kept
    assert client.stats.calls == 3


def test_batches_run_concurrently_up_to_the_limit(rsps, make_transport):
    active = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def callback(request):
        with lock:
            active["now"] += 1
            active["peak"] = max(active["peak"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return 200, {}, "[]"

    rsps.add_callback(responses.POST, REST, callback=callback)
    client = MoodleClient(make_transport(max_input_vars=50), concurrency=3)
    client.users_by_field("id", range(400))
    assert active["peak"] == 3


def test_map_returns_answers_in_order_and_raises_the_first_error(rsps, make_transport):
    def callback(request):
        competency_id = int(dict(form_of(request))["id"])
        if competency_id == 3:
            return 200, {}, json.dumps({"exception": "dml_missing_record_exception",
                                         "errorcode": "invalidrecord",
                                         "message": "Can't find data record in database "
                                                    "table competency."})
        return 200, {}, json.dumps({"id": competency_id, "shortname": "c", "idnumber": "c",
                                     "competencyframeworkid": 1})

    rsps.add_callback(responses.POST, REST, callback=callback)
    client = MoodleClient(make_transport())
    answers = client.map(ep.READ_COMPETENCY, [ep.ById(id=i) for i in (5, 1, 2)])
    assert [a.id for a in answers] == [5, 1, 2]
    with pytest.raises(e.RecordNotFoundError):
        client.map(ep.READ_COMPETENCY, [ep.ById(id=i) for i in (1, 3)])


def test_an_answer_of_the_wrong_shape_is_a_response_error(rsps, client):
    rsps.add(responses.POST, REST, json={"unexpected": True})
    with pytest.raises(e.LmsResponseError, match="unexpected answer shape"):
        client.site_info()


def test_every_endpoint_is_a_complete_declaration():
    assert len(ep.ALL) >= 12
    for endpoint in ep.ALL:
        assert endpoint.function.startswith(("core_", "enrol_", "tool_"))
        assert issubclass(endpoint.params, BaseModel)
        assert endpoint.adapter is not None
        if endpoint.batch:
            assert endpoint.batch in endpoint.params.model_fields


def test_every_endpoint_is_listed_for_a_feature():
    listed = {r.function for r in REQUIREMENTS}
    missing = [x.function for x in ep.ALL if x.function not in listed]
    assert missing == []


def test_requirements_always_include_core():
    functions = {r.function for r in requirements_for(["frameworks"])}
    assert "core_webservice_get_site_info" in functions
    assert "core_competency_create_competency" in functions
    assert "core_competency_create_plan" not in functions
