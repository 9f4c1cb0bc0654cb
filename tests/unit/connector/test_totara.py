"""The Totara GraphQL client: token, bearer, retries, errors from both places, pagination,
probes, and secrets that never show."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from pydantic import SecretStr

from connector import errors as e
from connector.retry import RetryPolicy
from connector.totara import operations as ops
from connector.totara.auth import ClientCredentials
from connector.totara.client import TotaraClient
from connector.totara.transport import TotaraTransport
from tests.unit.connector.conftest import FakeSleep

SITE = "https://totara.example.org"
GRAPHQL = f"{SITE}/api/graphql.php"
TOKEN_URL = f"{SITE}/totara/oauth2/token.php"
SECRET = "s3cr3t-client-secret-value"
ACCESS = "acc3ss-token-value-0001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(sleep: FakeSleep, clock: Clock):
    def make(**kwargs: object) -> TotaraClient:
        auth = ClientCredentials("sidecar-client", SecretStr(SECRET), clock=clock)
        transport = TotaraTransport(
            SITE, auth, retry=RetryPolicy(attempts=4, backoff=0.5, max_backoff=8,
                                          jitter=lambda base: 0),
            sleep=sleep, **kwargs)  # type: ignore[arg-type]
        return TotaraClient(transport)

    return make


def token_answer(token: str = ACCESS, expires_in: int = 3600) -> dict[str, object]:
    return {"token_type": "Bearer", "expires_in": expires_in, "access_token": token}


def add_token(rsps: responses.RequestsMock, token: str = ACCESS, expires_in: int = 3600) -> None:
    rsps.add(responses.POST, TOKEN_URL, json=token_answer(token, expires_in))


def sent_json(call: responses.Call) -> dict[str, object]:
    return json.loads(call.request.body)


def graphql_calls(rsps: responses.RequestsMock) -> list[responses.Call]:
    return [c for c in rsps.calls if c.request.url == GRAPHQL]


def test_token_is_fetched_form_encoded_and_sent_as_bearer_never_in_a_url(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, json={"data": {"totara_webapi_status": {"status": "ok"}}})
    client = make_client()
    assert client.status().status == "ok"
    token_request = rsps.calls[0].request
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(token_request.body)) == {
        "grant_type": "client_credentials", "client_id": "sidecar-client",
        "client_secret": SECRET}
    call = rsps.calls[1].request
    assert call.headers["Authorization"] == f"Bearer {ACCESS}"
    assert call.headers["Content-Type"] == "application/json"
    body = sent_json(rsps.calls[1])
    assert body["query"] == ops.STATUS.text and body["operationName"] == "totara_webapi_status"
    for request in (token_request, call):
        assert SECRET not in request.url and ACCESS not in request.url


def test_token_is_cached_and_renewed_before_it_expires(rsps, make_client, clock):
    add_token(rsps, "first-token", expires_in=3600)
    add_token(rsps, "second-token", expires_in=3600)
    rsps.add(responses.POST, GRAPHQL, json={"data": {"totara_webapi_status": {"status": "ok"}}})
    client = make_client()
    client.status()
    clock.now += 3000  # within the last tenth of its life? no: 600 s left, margin is 360 s
    client.status()
    auth = client.transport.auth
    assert isinstance(auth, ClientCredentials)
    assert auth.fetched == 1
    clock.now += 300  # 300 s left: inside the renewal margin
    client.status()
    assert auth.fetched == 2
    bearers = [c.request.headers["Authorization"] for c in graphql_calls(rsps)]
    assert bearers == ["Bearer first-token", "Bearer first-token", "Bearer second-token"]


def test_an_expired_token_is_renewed_once_and_the_call_repeated(rsps, make_client):
    add_token(rsps, "old-token")
    add_token(rsps, "new-token")
    rejected = {"errors": [{"message": "Missing, expired or invalid access token",
                            "extensions": {"category": "authentication"}}]}
    rsps.add(responses.POST, GRAPHQL, json=rejected)
    rsps.add(responses.POST, GRAPHQL, json={"data": {"totara_webapi_status": {"status": "ok"}}})
    assert make_client().status().status == "ok"
    bearers = [c.request.headers["Authorization"] for c in graphql_calls(rsps)]
    assert bearers == ["Bearer old-token", "Bearer new-token"]


def test_a_token_refused_twice_raises_an_auth_error_with_the_fix(rsps, make_client):
    add_token(rsps)
    rejected = {"errors": [{"message": "Missing, expired or invalid access token"}]}
    rsps.add(responses.POST, GRAPHQL, json=rejected)
    with pytest.raises(e.AccessTokenRejectedError) as info:
        make_client().status()
    assert isinstance(info.value, e.LmsAuthError)
    assert "API > Clients" in str(info.value)
    assert len(graphql_calls(rsps)) == 2


@pytest.mark.parametrize(("answer", "error", "words"), [
    ({"error": "invalid_client", "error_description": "Client authentication failed"},
     e.InvalidClientError, "lms.client_id"),
    ({"error": "unsupported_grant_type"}, e.OAuthTokenError, "Totara 17"),
    ({"error": "invalid_grant"}, e.OAuthTokenError, "suspended"),
    ({}, e.OAuthTokenError, "without an access token"),
])
def test_token_failures_map_to_auth_errors_that_name_the_fix(rsps, make_client, answer, error,
                                                             words):
    rsps.add(responses.POST, TOKEN_URL, json=answer, status=401 if answer else 200)
    with pytest.raises(error) as info:
        make_client().status()
    assert isinstance(info.value, e.LmsAuthError)
    assert words in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert not graphql_calls(rsps)


def test_http_400_says_the_api_is_off(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, body="", status=400)
    with pytest.raises(e.TotaraApiDisabledError, match="external GraphQL API is off"):
        make_client().status()


@pytest.mark.parametrize("where", ["top", "extensions"])
def test_debug_message_is_read_from_both_places(rsps, make_client, where):
    add_token(rsps)
    entry: dict[str, object] = {"message": "Invalid parameter value detected",
                                "extensions": {"category": "internal"}}
    if where == "top":  # Totara 17 and 18
        entry["debugMessage"] = "user_id 99 does not exist"
    else:  # Totara 19 and later
        entry["extensions"] = {"category": "internal", "debugMessage": "user_id 99 does not exist"}
    rsps.add(responses.POST, GRAPHQL, json={"errors": [entry]})
    with pytest.raises(e.GraphQLError) as info:
        make_client().status()
    assert info.value.debug_message == "user_id 99 does not exist"
    assert info.value.category == "internal"
    assert "Totara says: user_id 99 does not exist" in str(info.value)


def test_429_is_backed_off_through_the_retry_policy_obeying_retry_after(rsps, make_client, sleep):
    add_token(rsps)
    limited = {"errors": [{"message": "Too many requests"}]}
    rsps.add(responses.POST, GRAPHQL, json=limited, status=429, headers={"Retry-After": "3"})
    rsps.add(responses.POST, GRAPHQL, json=limited, status=429)
    rsps.add(responses.POST, GRAPHQL, json={"data": {"totara_webapi_status": {"status": "ok"}}})
    client = make_client()
    assert client.status().status == "ok"
    assert sleep.delays == [3.0, 1.0]
    assert client.stats.calls == 1


def test_429_beyond_the_attempts_raises_a_rate_limit_error(rsps, make_client):
    add_token(rsps)
    for _ in range(4):
        rsps.add(responses.POST, GRAPHQL, json={"errors": [{"message": "Too many requests"}]},
                 status=429)
    with pytest.raises(e.LmsRateLimitError, match="complexity"):
        make_client().status()


def test_a_mutation_is_not_retried_after_a_timeout(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, body=requests.ReadTimeout("slow"))
    with pytest.raises(e.LmsTimeoutError):
        make_client().create_goal({"name": "x"})
    assert len(graphql_calls(rsps)) == 1


def test_reads_are_retried_after_a_timeout(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, body=requests.ReadTimeout("slow"))
    rsps.add(responses.POST, GRAPHQL, json={"data": {"totara_webapi_status": {"status": "ok"}}})
    assert make_client().status().status == "ok"


def test_pagination_follows_next_cursor_to_the_end_with_a_bounded_page(rsps, make_client):
    add_token(rsps)
    pages = [
        {"items": [{"id": 1, "username": "a"}, {"id": 2, "username": "b"}], "total": 3,
         "next_cursor": "c2"},
        {"items": [{"id": 3, "username": "c"}], "total": 3, "next_cursor": ""},
    ]
    for page in pages:
        rsps.add(responses.POST, GRAPHQL, json={"data": {"core_user_users": page}})
    users = make_client().users()
    assert [u.id for u in users] == [1, 2, 3]
    sent = [sent_json(c)["variables"]["query"]["pagination"] for c in graphql_calls(rsps)]
    assert sent[0] == {"limit": ops.USERS.page_size}
    assert sent[1] == {"limit": ops.USERS.page_size, "cursor": "c2"}


def test_a_cursor_that_never_ends_is_an_error(rsps, make_client):
    add_token(rsps)
    page = {"items": [{"id": 1}], "total": 9, "next_cursor": "same"}
    for _ in range(3):
        rsps.add(responses.POST, GRAPHQL, json={"data": {"core_user_users": page}})
    with pytest.raises(e.LmsResponseError, match="does not end"):
        make_client().users()


def test_mutation_business_errors_inside_data_raise(rsps, make_client):
    add_token(rsps)
    answer = {"success": False, "errors": [{"code": "duplicate_id_number",
                                            "message": "ID number already in use"}]}
    rsps.add(responses.POST, GRAPHQL, json={"data": {"perform_goal_create_goal": answer}})
    with pytest.raises(e.MutationFailedError) as info:
        make_client().create_goal({"name": "Lead a project", "id_number": "G-1"})
    assert info.value.codes == ("duplicate_id_number",)


def test_probe_tells_offered_from_missing_operations_without_running_them(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, json={"errors": [{
        "message": 'Field "perform_goal_create_goal" argument "input" of type '
                   '"perform_goal_create_goal_input!" is required but not provided.'}]})
    rsps.add(responses.POST, GRAPHQL, json={"errors": [{
        "message": 'Cannot query field "perform_goal_create_goal_task" on type "Mutation".'}]})
    client = make_client()
    assert client.offers(ops.CREATE_GOAL) is True
    assert client.offers(ops.CREATE_GOAL_TASK) is False
    probe = sent_json(graphql_calls(rsps)[0])
    assert probe["query"] == "mutation probe_perform_goal_create_goal { perform_goal_create_goal " \
                             "{ __typename } }"


def test_unknown_operation_errors_say_to_run_check(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, json={"errors": [{
        "message": 'Cannot query field "core_course_courses" on type "Query".'}]})
    with pytest.raises(e.UnknownOperationError, match="sidecar check"):
        make_client().courses()


def test_answers_of_the_wrong_shape_name_the_operation(rsps, make_client):
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, json={"data": {"core_user_users": {"items": [{}]}}})
    with pytest.raises(e.LmsResponseError, match=r"docs/totara\.md") as info:
        make_client().users()
    assert info.value.wsfunction == "core_user_users"


def test_secrets_never_show_in_reprs_errors_or_logs(rsps, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    add_token(rsps)
    rsps.add(responses.POST, GRAPHQL, json={"errors": [{"message": "boom"}]})
    client = make_client()
    with pytest.raises(e.GraphQLError) as info:
        client.status()
    shown = " ".join([repr(client), repr(client.transport), repr(client.transport.auth),
                      str(info.value), repr(info.value), caplog.text])
    assert SECRET not in shown and ACCESS not in shown
    assert "client_secret=***" in repr(client.transport.auth)


def test_page_sizes_keep_every_paginated_query_under_the_per_query_limit():
    for op in ops.OPERATIONS.values():
        assert op.text.startswith(f"{op.kind} {op.name}"), op.name
        assert f"{op.name}(" in op.text or op.name == "totara_webapi_status", op.name
        assert op.result is not None and op.since in {"17", "18", "19"}
        if op.paginated:
            cost = ops.QUERY_BASE_COST + 10 + op.page_size * op.fields_per_record
            assert cost <= ops.QUERY_COMPLEXITY_LIMIT, op.name
            assert "next_cursor" in op.text and "total" in op.text
        if op.kind == "mutation":
            assert "success" in op.text, op.name
    assert ops.JOB_ASSIGNMENTS.fields_per_record == 14
    assert ops.JOB_ASSIGNMENTS.page_size == (6000 - 15) // 14
