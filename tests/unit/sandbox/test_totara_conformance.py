"""The sandbox playing Totara, checked against every shape ../shared/totara-contract.md states."""

from __future__ import annotations

import pytest

from connector.sandbox.app import create_app, state_of
from connector.sandbox.faults import FaultConfig
from connector.sandbox.totara.site import OPERATIONS_BY_RELEASE, TotaraSite

SECRET = "conformance-secret"


@pytest.fixture(scope="module", params=["17", "18", "19"])
def app(request):
    return create_app(totara=TotaraSite(release=request.param, client_secret=SECRET))


@pytest.fixture
def web(app):
    state_of(app).reset()
    state_of(app).settings.debugdeveloper = False
    app.extensions["sandbox.faults"].configure(FaultConfig())
    return app.test_client()


def token(web) -> str:
    answer = web.post("/totara/oauth2/token.php", data={
        "grant_type": "client_credentials", "client_id": "lms-sidecar", "client_secret": SECRET})
    return str(answer.json["access_token"])


def gql(web, query: str, variables: dict | None = None, bearer: str | None = None):
    return web.post("/api/graphql.php", json={"query": query, "variables": variables or {}},
                    headers={"Authorization": f"Bearer {bearer or token(web)}"})


def release(app) -> str:
    return app.extensions["sandbox.totara"].release


def test_token_answer_has_the_contracts_keys(web):
    answer = web.post("/totara/oauth2/token.php", data={
        "grant_type": "client_credentials", "client_id": "lms-sidecar", "client_secret": SECRET})
    assert answer.status_code == 200
    assert answer.content_type.startswith("application/json")
    body = answer.json
    assert set(body) == {"token_type", "expires_in", "access_token"}
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int)


@pytest.mark.parametrize("form", [
    {"grant_type": "client_credentials", "client_id": "lms-sidecar", "client_secret": "no"},
    {"grant_type": "password", "client_id": "lms-sidecar", "client_secret": SECRET},
    {"grant_type": "client_credentials"},
])
def test_token_failures_are_json_with_an_error_key(web, form):
    answer = web.post("/totara/oauth2/token.php", data=form)
    assert "error" in answer.json and "access_token" not in answer.json


def test_anything_but_post_or_the_api_off_answers_400(web, app):
    assert web.get("/api/graphql.php").status_code == 400
    app.extensions["sandbox.totara"].api_enabled = False
    try:
        assert gql(web, "query { totara_webapi_status { status } }").status_code == 400
    finally:
        app.extensions["sandbox.totara"].api_enabled = True


def test_status_query(web):
    assert gql(web, "query { totara_webapi_status { status } }").json == {
        "data": {"totara_webapi_status": {"status": "ok", "timestamp": pytest.approx(0, abs=1e10)}}}


def test_an_invalid_token_reads_as_the_contract_says(web):
    answer = gql(web, "query { totara_webapi_status { status } }", bearer="nope")
    assert answer.status_code == 200
    assert answer.json["errors"][0]["message"] == "Missing, expired or invalid access token"


def test_rate_limit_is_429_with_the_contracts_body(web, app):
    app.extensions["sandbox.faults"].configure(FaultConfig(script=["429"]))
    answer = web.post("/api/graphql.php", json={"query": "query { totara_webapi_status "
                                                         "{ status } }"})
    assert answer.status_code == 429
    assert answer.json == {"errors": [{"message": "Too many requests"}]}


def test_errors_carry_message_category_and_debug_message_where_the_release_puts_it(web, app):
    state_of(app).settings.debugdeveloper = True
    answer = gql(web, "query q($input: perform_goal_user_goals_input) { perform_goal_user_goals("
                      "input: $input) { items { id } total next_cursor } }",
                 {"input": {"filters": {"user": {"id": 99999}}}})
    entry = answer.json["errors"][0]
    assert entry["message"] and entry["extensions"]["category"]
    if release(app) == "17":
        assert "Cannot query field" in entry["message"]
    elif release(app) == "18":
        assert "debugMessage" in entry and "debugMessage" not in entry["extensions"]
    else:
        assert "debugMessage" in entry["extensions"] and "debugMessage" not in entry


def test_each_release_offers_the_contracts_operations():
    assert OPERATIONS_BY_RELEASE["17"] >= {
        "totara_webapi_status", "core_user_users", "core_user_create_user",
        "core_user_update_user", "core_user_delete_user", "totara_job_job_assignments",
        "totara_job_create_job_assignment", "totara_job_update_job_assignment",
        "totara_job_delete_job_assignment"}
    assert not {n for n in OPERATIONS_BY_RELEASE["17"] if n.startswith("perform_goal")}
    assert OPERATIONS_BY_RELEASE["18"] - OPERATIONS_BY_RELEASE["17"] == {
        "core_course_courses", "enrol_manual_enrol_user", "perform_goal_create_goal",
        "perform_goal_user_goals", "perform_goal_view_goal", "perform_goal_update_goal",
        "perform_goal_delete_goal"}
    assert OPERATIONS_BY_RELEASE["19"] - OPERATIONS_BY_RELEASE["18"] == {
        "perform_goal_get_goal_tasks", "perform_goal_create_goal_task",
        "perform_goal_update_goal_task", "perform_goal_delete_goal_task",
        "perform_goal_set_goal_task_progress", "totara_job_job_assignment"}


def _pages(web, field: str, argument: str, extra: dict | None = None) -> list[dict]:
    bearer = token(web)
    items: list[dict] = []
    cursor = None
    while True:
        pagination = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        answer = gql(web, f"query q($x: t) {{ {field}({argument}: $x) {{ items {{ id }} total "
                          "next_cursor } }",
                     {"x": {**(extra or {}), "pagination": pagination}}, bearer=bearer)
        page = answer.json["data"][field]
        assert set(page) == {"items", "total", "next_cursor"}
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_pagination_is_items_total_next_cursor_followed_until_empty(web):
    users = _pages(web, "core_user_users", "query")
    assert len(users) == len({u["id"] for u in users}) > 7
    assert set(users[0]) == {"id", "username", "idnumber", "email"}  # a user reference


def test_job_assignments_have_the_contracts_fields(web):
    jobs = _pages(web, "totara_job_job_assignments", "query")
    assert {"idnumber", "user", "position", "organisation", "manager", "appraiser",
            "temp_manager", "start_date", "end_date"} <= set(jobs[0])
    assert any(job["manager"] for job in jobs)


def test_courses_have_the_contracts_fields(web, app):
    if release(app) == "17":
        return
    courses = _pages(web, "core_course_courses", "query")
    assert {"id", "fullname", "summary", "url", "custom_fields", "completion"} <= set(courses[0])


def test_a_query_over_the_per_query_complexity_is_refused(web):
    answer = gql(web, "query q($x: t) { core_user_users(query: $x) { items { id username "
                      "idnumber email } total next_cursor } }",
                 {"x": {"pagination": {"limit": 2000}}})
    assert "complexity" in answer.json["errors"][0]["message"]


def test_goal_input_and_business_errors(web, app):
    if release(app) == "17":
        return
    fields = {"name": "Coach two colleagues", "user": {"id": 3}, "owner": "api",
              "context_id": 1, "id_number": "G-7", "description": "d",
              "start_date": "2026-01-01", "target_date": "2026-06-30", "target_type": "date",
              "target_value": 1, "current_value": 0, "status": "not_started"}
    text = ("mutation m($input: perform_goal_create_goal_input!) { perform_goal_create_goal("
            "input: $input) { success errors { code message } goal { id } } }")
    bearer = token(web)
    created = gql(web, text, {"input": fields}, bearer=bearer).json["data"]
    assert created["perform_goal_create_goal"]["success"] is True
    again = gql(web, text, {"input": fields}, bearer=bearer).json["data"]
    assert again["perform_goal_create_goal"]["success"] is False
    assert set(again["perform_goal_create_goal"]["errors"][0]) == {"code", "message"}
    if release(app) == "19":
        goal_id = created["perform_goal_create_goal"]["goal"]["id"]
        task = gql(web, "mutation m($input: x!) { perform_goal_create_goal_task(input: $input) "
                        "{ success goal_task { id } } }",
                   {"input": {"goal_id": goal_id, "description": "Practise",
                              "resource_id": 2, "resource_type": "course"}}, bearer=bearer)
        assert task.json["data"]["perform_goal_create_goal_task"]["success"] is True


def test_legacy_web_services_are_totaras_set(web, app):
    functions = state_of(app).functions
    assert functions is not None
    assert not [n for n in functions if n.startswith(("core_competency_", "tool_lp_"))]
    assert {"core_completion_get_course_completion_status",
            "core_completion_get_activities_completion_status",
            "core_course_get_courses_by_field", "core_enrol_get_enrolled_users",
            "core_user_get_users_by_field", "core_message_send_instant_messages",
            "totara_competency_get_frameworks", "totara_competency_get_linked_courses",
            "totara_competency_set_linked_courses"} <= set(functions)
