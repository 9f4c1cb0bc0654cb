"""The wire: what is sent, how Moodle's errors become typed exceptions, what is retried."""

import logging

import pytest
import requests
import responses
from pydantic import SecretStr

from connector import errors as e
from connector.moodle.transport import LoginToken
from connector.retry import RetryPolicy
from tests.unit.connector.conftest import BASE, REST, TOKEN, add_recording, form_of


def test_call_posts_the_form_body_with_token_first_and_never_in_the_url(rsps, make_transport):
    add_recording(rsps, "01_core_webservice_get_site_info")
    value = make_transport().call("core_webservice_get_site_info")
    assert value["release"] == "4.5.6 (Build: 20250811)"
    request = rsps.calls[0].request
    assert request.method == "POST"
    assert TOKEN not in request.url and "wstoken" not in request.url
    assert form_of(request)[0] == ("wstoken", TOKEN)


@pytest.mark.parametrize(
    ("recording", "error", "code"),
    [
        ("67_ERR_invalid_token", e.InvalidTokenError, "invalidtoken"),
        ("90_limited_ERR_function_not_in_service_create_framework",
         e.FunctionNotInServiceError, "accessexception"),
        ("70_ERR_unknown_function", e.UnknownFunctionError, "invalidrecord"),
        ("79_ERR_read_nonexistent_framework", e.RecordNotFoundError, "invalidrecord"),
        ("72_ERR_missing_required_param", e.InvalidParameterError, "invalidparameter"),
        ("75_ERR_duplicate_competency_idnumber", e.DuplicateIdnumberError,
         "invalidpersistenterror"),
        ("76_ERR_duplicate_framework_idnumber", e.DuplicateIdnumberError,
         "invalidpersistenterror"),
        ("77_ERR_bad_scaleconfiguration", e.InvalidValueError, "invalidpersistenterror"),
        ("80_ERR_duplicate_course_shortname", e.MoodleError, "shortnametaken"),
        ("138_core_competency_list_user_plans_as_user_without_role", e.PermissionDeniedError,
         "nopermissions"),
        ("129_ERR_core_competency_update_plan_completed", e.MoodleError, "codingerror"),
        ("152_ERR_core_course_get_courses_by_field_ids_with_nonexistent_id", e.MoodleError, None),
    ],
)
def test_recorded_error_bodies_become_typed_exceptions(rsps, make_transport, recording, error,
                                                       code):
    rec = add_recording(rsps, recording)
    params = {}
    for key, value in rec.params[3:]:
        params[key] = value  # already flat: flatten() keeps flat keys as they are
    token = rec.form.get("wstoken", "")
    transport = make_transport()
    if token not in ("<TOKEN>", "<LIMITED_TOKEN>", "<STUDENT_TOKEN>"):
        transport = make_transport(token=_static(token))
    with pytest.raises(error) as caught:
        transport.call(rec.function, params)
    assert caught.value.errorcode == code
    assert caught.value.wsfunction == rec.function
    assert len(rsps.calls) == 1, "permanent errors are never retried"


def _static(token):
    from connector.moodle.transport import StaticToken

    return StaticToken(SecretStr(token))


def test_record_not_found_names_the_table(rsps, make_transport):
    rec = add_recording(rsps, "79_ERR_read_nonexistent_framework")
    with pytest.raises(e.RecordNotFoundError) as caught:
        make_transport().call(rec.function, dict(rec.params[3:]))
    assert caught.value.table == "competency_framework"
    assert isinstance(caught.value, e.LmsNotFoundError)


def test_debuginfo_is_part_of_the_message_when_the_site_sends_it(rsps, make_transport):
    add_recording(rsps, "83_DEBUG_ERR_missing_required_param")
    with pytest.raises(e.InvalidParameterError) as caught:
        make_transport().call("core_competency_read_competency_framework")
    assert "Missing required key in single structure: id" in str(caught.value)


def test_function_not_in_service_is_an_auth_error_with_the_fix(rsps, make_transport):
    add_recording(rsps, "90_limited_ERR_function_not_in_service_create_framework")
    rec_params = {
        "competencyframework[shortname]": "Nicht erlaubt X1122013434",
        "competencyframework[idnumber]": "LIM-X1122013434",
        "competencyframework[scaleid]": "2",
        "competencyframework[scaleconfiguration]": '[{"scaleid": "2"}, {"id": 1, "scaledefault":'
        ' 1, "proficient": 0}, {"id": 2, "scaledefault": 0, "proficient": 1}]',
        "competencyframework[contextid]": "1",
    }
    with pytest.raises(e.LmsAuthError) as caught:
        make_transport().call("core_competency_create_competency_framework", rec_params)
    assert "add it to the token's external service" in str(caught.value)


def _fail_then(rsps, failures, final_json=True):
    for status, headers in failures:
        rsps.add(responses.POST, REST, status=status, headers=headers, body="")
    rsps.add(responses.POST, REST, json=final_json)


def test_transient_5xx_is_retried_with_exponential_backoff(rsps, make_transport, sleep):
    _fail_then(rsps, [(503, {}), (502, {}), (504, {})])
    assert make_transport().call("core_competency_list_competencies") is True
    assert sleep.delays == [0.5, 1.0, 2.0]
    assert len(rsps.calls) == 4


def test_429_obeys_retry_after(rsps, make_transport, sleep):
    _fail_then(rsps, [(429, {"Retry-After": "7"})])
    make_transport().call("core_webservice_get_site_info")
    assert sleep.delays == [7.0]


def test_retry_after_longer_than_the_cap_gives_up_and_says_so(rsps, make_transport, sleep):
    _fail_then(rsps, [(429, {"Retry-After": "600"})])
    with pytest.raises(e.LmsRateLimitError) as caught:
        make_transport().call("core_webservice_get_site_info")
    assert caught.value.retry_after == 600
    assert sleep.delays == []


def test_attempts_are_capped(rsps, make_transport, sleep):
    for _ in range(10):
        rsps.add(responses.POST, REST, status=503)
    with pytest.raises(e.LmsServerError) as caught:
        make_transport().call("core_webservice_get_site_info")
    assert caught.value.status == 503
    assert len(rsps.calls) == 4
    assert sleep.delays == [0.5, 1.0, 2.0]


def test_backoff_is_capped_and_jitter_is_added_separately():
    policy = RetryPolicy(attempts=10, backoff=1, max_backoff=5, jitter=lambda base: base / 10)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4)] == [1.1, 2.2, 4.4, 5]


def test_http_500_is_not_retried(rsps, make_transport):
    _fail_then(rsps, [(500, {})])
    with pytest.raises(e.LmsServerError):
        make_transport().call("core_webservice_get_site_info")
    assert len(rsps.calls) == 1


def test_read_timeouts_and_resets_are_retried_for_reads(rsps, make_transport):
    rsps.add(responses.POST, REST, body=requests.ReadTimeout("slow"))
    rsps.add(responses.POST, REST, body=requests.ConnectionError("Connection reset by peer"))
    rsps.add(responses.POST, REST, json=[])
    assert make_transport().call("core_competency_list_competencies") == []
    assert len(rsps.calls) == 3


def test_a_write_that_may_have_reached_the_site_is_not_retried(rsps, make_transport):
    rsps.add(responses.POST, REST, body=requests.ReadTimeout("slow"))
    rsps.add(responses.POST, REST, json={"id": 1})
    with pytest.raises(e.LmsTimeoutError):
        make_transport().call("core_competency_create_competency", idempotent=False)
    assert len(rsps.calls) == 1


def test_a_write_refused_before_processing_is_retried(rsps, make_transport):
    rsps.add(responses.POST, REST, status=503)
    rsps.add(responses.POST, REST, status=429, headers={"Retry-After": "1"})
    rsps.add(responses.POST, REST, json={"id": 1})
    assert make_transport().call("core_competency_create_competency", idempotent=False) == {
        "id": 1}
    assert len(rsps.calls) == 3


def test_connection_refused_is_a_connection_error_that_did_not_reach_the_site(make_transport):
    transport = make_transport(retry=RetryPolicy(attempts=1))
    transport.url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(e.LmsConnectionError) as caught:
        transport.call("core_webservice_get_site_info")
    assert caught.value.reached_site is False
    assert "could not connect to http://127.0.0.1:9" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "headers", "body", "says"),
    [
        (403, {}, "", "REST protocol are not enabled"),
        (404, {}, "<html>Not found</html>", "no Moodle web-service endpoint"),
        (303, {"Location": "https://moodle.example.org/login/"}, "", "redirects to"),
        (200, {"Content-Type": "text/html"}, "<html>Maintenance</html>", "not JSON"),
    ],
)
def test_answers_that_are_not_web_service_answers_say_what_to_check(rsps, make_transport,
                                                                     status, headers, body,
                                                                     says):
    rsps.add(responses.POST, REST, status=status, headers=headers, body=body)
    with pytest.raises(e.LmsResponseError, match=says):
        make_transport().call("core_webservice_get_site_info")


def test_token_never_appears_in_errors_reprs_or_logs(rsps, make_transport, caplog):
    caplog.set_level(logging.DEBUG)
    rsps.add(responses.POST, REST, status=503)
    add_recording(rsps, "67_ERR_invalid_token")
    transport = make_transport(token=_static("0123456789abcdef0123456789abcdef"))
    with pytest.raises(e.InvalidTokenError) as caught:
        transport.call("core_webservice_get_site_info")
    secret = "0123456789abcdef0123456789abcdef"
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value.params)
    assert secret not in repr(transport)
    assert secret not in caplog.text
    assert "urllib3" in caplog.text or "core_webservice_get_site_info" in caplog.text


def test_login_token_is_fetched_once_then_used(rsps, make_transport):
    add_recording(rsps, "92_login_token_success")
    rsps.add(responses.POST, REST, json=[])
    token = LoginToken("admin", SecretStr("<PASSWORD>"), "sidecar")
    transport = make_transport(token=token)
    transport.call("core_competency_list_competencies")
    transport.call("core_competency_list_competencies")
    assert [c.request.url for c in rsps.calls] == [
        f"{BASE}/login/token.php", f"{BASE}/webservice/rest/server.php",
        f"{BASE}/webservice/rest/server.php"]
    assert form_of(rsps.calls[1].request)[0] == ("wstoken", "<TOKEN_ISSUED>")
    assert "PASSWORD" not in repr(token)


def test_refused_login_token_is_renewed_once(rsps, make_transport):
    add_recording(rsps, "92_login_token_success")
    add_recording(rsps, "67_ERR_invalid_token")  # body matcher: not this token
    rsps.add(responses.POST, REST, json={"exception": "x", "errorcode": "invalidtoken",
                                          "message": "Invalid token"})
    rsps.add(responses.POST, REST, json=[])
    transport = make_transport(token=LoginToken("admin", SecretStr("<PASSWORD>"), "sidecar"))
    assert transport.call("core_competency_list_competencies") == []
    urls = [c.request.url.rsplit("/", 1)[1] for c in rsps.calls]
    assert urls == ["token.php", "server.php", "token.php", "server.php"]


@pytest.mark.parametrize(
    ("recording", "says"),
    [
        ("93_login_token_ERR_bad_password", "refused the username or password"),
        ("94_login_token_ERR_unknown_service", "does not exist or is disabled"),
        ("95_login_token_ERR_user_without_createtoken", "may not create a token"),
    ],
)
def test_login_failures_explain_themselves(rsps, make_transport, recording, says):
    rec = add_recording(rsps, recording)
    form = rec.form
    transport = make_transport()
    with pytest.raises(e.LoginFailedError, match=says) as caught:
        transport.login(form["username"], SecretStr(form["password"]), form["service"])
    assert caught.value.errorcode == rec.json["errorcode"]


def test_too_many_form_variables_are_refused_before_sending(rsps, make_transport):
    with pytest.raises(e.LmsRequestTooLargeError, match="max_input_vars=100"):
        make_transport(max_input_vars=100).call("core_user_get_users_by_field",
                                                {"field": "id", "values": list(range(100))})
    assert len(rsps.calls) == 0


def test_calls_and_requests_are_counted_per_function(rsps, make_transport):
    _fail_then(rsps, [(503, {})], final_json=[])
    rec = add_recording(rsps, "79_ERR_read_nonexistent_framework")
    transport = make_transport()
    transport.call("core_competency_list_competencies")
    with pytest.raises(e.RecordNotFoundError):
        transport.call(rec.function, dict(rec.params[3:]))
    rows = {row.function: row for row in transport.stats.by_function()}
    assert rows["core_competency_list_competencies"].calls == 1
    assert rows["core_competency_list_competencies"].requests == 2
    assert rows["core_competency_read_competency_framework"].outcomes == {"invalidrecord": 1}
    assert transport.stats.calls == 2 and transport.stats.requests == 3


def test_rate_limiter_spaces_calls_evenly():
    from connector.pacing import RateLimiter

    now = [100.0]
    slept: list[float] = []

    def sleep(s):
        slept.append(s)

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.25, 0.5]
