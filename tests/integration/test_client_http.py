"""The Moodle client over real HTTP against the sandbox: formats, batching, faults, tokens."""

import pytest
import requests
from pydantic import SecretStr

from connector import errors as e
from connector.moodle.transport import LoginToken
from connector.sandbox import FaultConfig, faults_of
from sidecar.readiness import assess
from sidecar.wiring import build_client, build_transport

pytestmark = pytest.mark.integration


def test_site_info_shows_a_ready_site(client, sandbox):
    site = client.site_info()
    assert site.userissiteadmin and site.release.startswith("4.5")
    assert assess(site, ["frameworks", "skills_map", "goals", "followups"], "lms_sidecar").ready


def test_xml_and_json_give_the_same_typed_answers(settings_for):
    as_json = build_client(settings_for().lms)
    as_xml = build_client(settings_for(format="xml").lms)
    assert as_xml.site_info() == as_json.site_info()
    assert as_xml.courses_by_field() == as_json.courses_by_field()
    assert as_xml.users_by_field("id", range(1, 40)) == as_json.users_by_field("id", range(1, 40))


def test_batching_keeps_what_php_would_silently_drop(settings_for, sandbox):
    # 1,505 form variables, over the sandbox's max_input_vars=1000; the real users come last
    ids = list(range(100_000, 101_200)) + list(range(1, 303))
    batched = build_client(settings_for(max_input_vars=1000).lms)
    users = batched.users_by_field("id", ids)
    assert {u.id for u in users} == set(range(2, 303))  # admin and the 300 learners
    assert batched.stats.calls == 2

    unaware = build_transport(settings_for(max_input_vars=5000).lms)  # believes the limit is 5000
    truncated = unaware.call("core_user_get_users_by_field", {"field": "id", "values": ids})
    assert truncated == [], "PHP cut the form before the real users: silently nothing"


def test_transient_faults_are_retried_until_the_answer_comes(client, sandbox):
    faults_of(sandbox.app).configure(FaultConfig(script=["503", "429", "reset"],
                                                 retry_after=0))
    assert client.site_info().username == "admin"
    [row] = [r for r in client.stats.by_function() if r.function.endswith("get_site_info")]
    assert (row.calls, row.requests) == (1, 4)


def test_a_permanent_http_500_is_reported_not_retried(client, sandbox):
    faults_of(sandbox.app).configure(FaultConfig(script=["500"]))
    with pytest.raises(e.LmsServerError) as caught:
        client.site_info()
    assert caught.value.status == 500 and client.stats.requests == 1


def test_a_slow_site_times_out_after_the_configured_read_timeout(settings_for, sandbox):
    faults_of(sandbox.app).configure(FaultConfig(script=["timeout"] * 5, timeout_seconds=1))
    client = build_client(settings_for(timeout={"connect": 1, "read": 0.2},
                                       retries={"attempts": 2, "backoff": 0}).lms)
    with pytest.raises(e.LmsTimeoutError, match=r"did not answer within 0\.2s"):
        client.site_info()


def test_a_function_outside_the_service_is_named_with_the_fix(settings_for, sandbox):
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    requests.post(f"{sandbox.url}/_sandbox/services", headers=admin, timeout=5, json={
        "name": "Limited", "shortname": "limited",
        "functions": ["core_webservice_get_site_info"]}).raise_for_status()
    token = requests.post(f"{sandbox.url}/_sandbox/tokens", headers=admin, timeout=5, json={
        "username": "admin", "service": "limited"}).json()["token"]
    client = build_client(settings_for(token=token).lms)
    readiness = assess(client.site_info(), ["frameworks"], "limited")
    assert "add core_competency_create_competency to the external service 'limited'" in (
        readiness.fixes())
    with pytest.raises(e.FunctionNotInServiceError):
        client.list_frameworks()


def test_a_token_from_login_is_fetched_and_used(settings_for, sandbox):
    settings = settings_for(token=None, username="admin", password="Sandbox-admin-1",
                            service="lms_sidecar")
    transport = build_transport(settings.lms)
    assert isinstance(transport._token, LoginToken)
    assert build_client(settings.lms).site_info().username == "admin"


def test_a_wrong_password_is_a_login_error(settings_for):
    transport = build_transport(settings_for().lms)
    with pytest.raises(e.LoginFailedError, match="refused the username or password"):
        transport.login("admin", SecretStr("wrong"), "lms_sidecar")


def test_an_unknown_token_is_refused(settings_for):
    with pytest.raises(e.InvalidTokenError):
        build_client(settings_for(token="0" * 32).lms).site_info()
