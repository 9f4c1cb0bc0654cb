"""What users of the sandbox rely on: faults, truncation, tokens, reset, dump, the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from connector.sandbox import FaultConfig, SandboxServer, create_app, faults_of, state_of
from sidecar.commands.sandbox import sandbox
from tests.unit.sandbox.replay import post_form

TOKEN = "a" * 32
REST = "/webservice/rest/server.php"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server() -> Any:
    with SandboxServer(admin_token=TOKEN) as running:
        yield running


@pytest.fixture
def client() -> Any:
    return create_app(admin_token=TOKEN).test_client()


def call(client: Any, function: str, *pairs: tuple[str, str], token: str = TOKEN) -> Any:
    form = [("wstoken", token), ("wsfunction", function), *pairs]
    return json.loads(post_form(client, REST, form).data)


def test_seeded_site_has_admin_front_page_scale_and_a_company(client: Any) -> None:
    info = call(client, "core_webservice_get_site_info")
    assert (info["userid"], info["username"], info["userissiteadmin"]) == (2, "admin", True)
    courses = call(client, "core_course_get_courses_by_field")["courses"]
    assert courses[0]["id"] == 1 and courses[0]["format"] == "site"
    assert len(courses) > 30
    users = call(client, "core_user_get_users_by_field", ("field", "id"),
                 *[(f"values[{i}]", str(i)) for i in range(3, 303)])
    assert len(users) == 300 and all(user["department"] for user in users)
    state = state_of(client.application)
    assert state.db.scalar("SELECT scale FROM scale WHERE id = 2") == "Not yet competent,Competent"
    assert state.db.scalar("SELECT COUNT(*) FROM role_assignments WHERE roleid = 9") > 200


def test_json_is_escaped_like_php(client: Any) -> None:
    call(client, "core_user_create_users", ("users[0][username]", "zoe"),
         ("users[0][password]", "pw"), ("users[0][firstname]", "Zoë"),
         ("users[0][lastname]", "Ødegård"), ("users[0][email]", "zoe@example.com"))
    body = post_form(client, REST, [("wstoken", TOKEN), ("wsfunction",
                     "core_user_get_users_by_field"), ("field", "username"), ("values[0]", "zoe")])
    text = body.get_data(as_text=True)
    assert "Zo\\u00eb" in text and "http:\\/\\/" in text


def test_function_outside_service_is_access_exception(client: Any) -> None:
    state = state_of(client.application)
    from connector.sandbox import control
    with state.transaction() as db:
        control.create_service(db, "Read only", "readonly", ["core_webservice_get_site_info"])
        limited = control.create_token(db, state.clock.now(), user=2, service="readonly")
    info = call(client, "core_webservice_get_site_info", token=limited)
    assert [f["name"] for f in info["functions"]] == ["core_webservice_get_site_info"]
    refused = call(client, "core_course_get_courses", token=limited)
    assert refused["errorcode"] == "accessexception"


def test_max_input_vars_cuts_the_tail_or_the_token(client: Any) -> None:
    values = [(f"values[{i}]", str(3 + i)) for i in range(1200)]
    first = call(client, "core_user_get_users_by_field", ("field", "id"), *values)
    assert len(first) == 300
    # wstoken, wsfunction, field and 997 values make 1000 variables: the 1001st is dropped.
    cut = call(client, "core_user_get_users_by_field", ("field", "id"),
               *[(f"values[{i}]", "3") for i in range(997)], ("values[997]", "4"))
    assert [user["id"] for user in cut] == [3]
    form = [("wsfunction", "core_webservice_get_site_info"), *values, ("wstoken", TOKEN)]
    last = json.loads(post_form(client, REST, form).data)
    assert last["errorcode"] == "invalidtoken"


def test_token_expires_after_calls_then_is_gone(client: Any) -> None:
    state = state_of(client.application)
    from connector.sandbox import control
    with state.transaction() as db:
        short = control.create_token(db, state.clock.now(), user=2, service="lms_sidecar",
                                     calls=2)
    assert "userid" in call(client, "core_webservice_get_site_info", token=short)
    assert "userid" in call(client, "core_webservice_get_site_info", token=short)
    assert call(client, "core_webservice_get_site_info", token=short)["errorcode"] == \
        "accessexception"
    assert call(client, "core_webservice_get_site_info", token=short)["errorcode"] == \
        "invalidtoken"


def test_token_expires_when_the_clock_passes_validuntil(client: Any) -> None:
    response = client.post("/_sandbox/tokens", headers=AUTH, json={
        "username": "admin", "validuntil": state_of(client.application).clock.now() + 3600})
    token = response.json["token"]
    assert "userid" in call(client, "core_webservice_get_site_info", token=token)
    client.post("/_sandbox/clock", headers=AUTH, json={"advance": 7200})
    assert call(client, "core_webservice_get_site_info", token=token)["errorcode"] == \
        "accessexception"


def test_admin_endpoints_need_the_bearer_token(client: Any) -> None:
    assert client.get("/_sandbox/dump").status_code == 401
    assert client.get("/_sandbox/dump", headers={"Authorization": "Bearer nope"}).status_code \
        == 401
    assert client.get("/_sandbox/health").json == {"status": "ok"}
    bad = client.put("/_sandbox/faults", headers=AUTH, json={"error_rate": 2})
    assert bad.status_code == 400


def test_reset_restores_the_seeded_site(client: Any) -> None:
    created = call(client, "core_competency_create_competency_framework",
                   ("competencyframework[shortname]", "Skills"),
                   ("competencyframework[idnumber]", "SK"),
                   ("competencyframework[scaleid]", "2"),
                   ("competencyframework[scaleconfiguration]",
                    '[{"scaleid":"2"},{"id":1,"scaledefault":1},{"id":2,"proficient":1}]'),
                   ("competencyframework[contextid]", "1"))
    assert created["idnumber"] == "SK"
    assert client.post("/_sandbox/reset", headers=AUTH).json == {"reset": True}
    listed = call(client, "core_competency_list_competency_frameworks",
                  ("context[contextid]", "1"))
    assert listed == []


def test_dump_shows_frameworks_as_trees_and_plans(client: Any) -> None:
    fw = call(client, "core_competency_create_competency_framework",
              ("competencyframework[shortname]", "Leadership"),
              ("competencyframework[idnumber]", "LEAD"), ("competencyframework[scaleid]", "2"),
              ("competencyframework[scaleconfiguration]",
               '[{"scaleid":"2"},{"id":1,"scaledefault":1},{"id":2,"proficient":1}]'),
              ("competencyframework[contextid]", "1"))
    root = call(client, "core_competency_create_competency", ("competency[shortname]", "Lead"),
                ("competency[idnumber]", "L1"), ("competency[competencyframeworkid]",
                                                 str(fw["id"])))
    call(client, "core_competency_create_competency", ("competency[shortname]", "Coach"),
         ("competency[idnumber]", "L1.1"), ("competency[competencyframeworkid]", str(fw["id"])),
         ("competency[parentid]", str(root["id"])))
    dumped = client.get("/_sandbox/dump", headers=AUTH).json
    tree = dumped["frameworks"][0]["competencies"]
    assert tree[0]["idnumber"] == "L1" and tree[0]["children"][0]["idnumber"] == "L1.1"


def test_injected_5xx_and_429_are_deterministic(client: Any) -> None:
    faults_of(client.application).configure(FaultConfig(error_rate=0.5, ratelimit_rate=0.2,
                                                        retry_after=7, seed=1))
    first = [post_form(client, REST, [("wstoken", TOKEN)]).status_code for _ in range(40)]
    faults_of(client.application).configure(FaultConfig(error_rate=0.5, ratelimit_rate=0.2,
                                                        retry_after=7, seed=1))
    second = [post_form(client, REST, [("wstoken", TOKEN)]).status_code for _ in range(40)]
    assert first == second
    assert {500, 502, 503, 504} & set(first) and 429 in first and 200 in first
    faults_of(client.application).configure(FaultConfig(script=["429"], retry_after=7))
    limited = post_form(client, REST, [("wstoken", TOKEN)])
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"


def test_timeout_and_reset_over_real_http(server: SandboxServer) -> None:
    form = {"wstoken": TOKEN, "wsfunction": "core_webservice_get_site_info",
            "moodlewsrestformat": "json"}
    put = requests.put(f"{server.url}/_sandbox/faults", headers=AUTH, timeout=5,
                       json={"script": ["timeout", "reset"], "timeout_seconds": 1.0})
    assert put.status_code == 200
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(server.rest_url, data=form, timeout=(2, 0.2))
    assert time.monotonic() - started < 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(server.rest_url, data=form, timeout=5)
    ok = requests.post(server.rest_url, data=form, timeout=5).json()
    assert ok["siteurl"] == server.url


def test_latency_is_applied(server: SandboxServer) -> None:
    requests.put(f"{server.url}/_sandbox/faults", headers=AUTH, json={"latency_ms": 150},
                 timeout=5)
    started = time.monotonic()
    requests.post(server.rest_url, data={"wstoken": TOKEN}, timeout=5)
    assert time.monotonic() - started >= 0.15
    requests.put(f"{server.url}/_sandbox/faults", headers=AUTH, json={}, timeout=5)


def test_cli_dump_prints_state_and_json(tmp_path: Path) -> None:
    db = tmp_path / "site.sqlite3"
    app = create_app(db, admin_token=TOKEN)
    call(app.test_client(), "core_competency_create_competency_framework",
         ("competencyframework[shortname]", "Safety"), ("competencyframework[idnumber]", "SAFE"),
         ("competencyframework[scaleid]", "2"),
         ("competencyframework[scaleconfiguration]",
          '[{"scaleid":"2"},{"id":1,"scaledefault":1},{"id":2,"proficient":1}]'),
         ("competencyframework[contextid]", "1"))
    state_of(app).conn.close()
    runner = CliRunner()
    shown = runner.invoke(sandbox, ["dump", "--db", str(db)])
    assert shown.exit_code == 0 and "SAFE" in shown.output and "Learning plans" in shown.output
    as_json = runner.invoke(sandbox, ["dump", "--db", str(db), "--json"])
    assert json.loads(as_json.output)["frameworks"][0]["idnumber"] == "SAFE"
    assert runner.invoke(sandbox, ["serve", "--error-rate", "3"]).exit_code == 2


def test_sidecar_sandbox_without_a_subcommand_serves(monkeypatch, tmp_path):
    """`sidecar sandbox --port 8081` serves, as `sidecar sandbox serve --port 8081` does."""
    from click.testing import CliRunner

    from sidecar.commands import sandbox as command

    served: list[dict[str, object]] = []
    monkeypatch.setattr(command, "_serve", lambda **options: served.append(options))
    result = CliRunner().invoke(command.sandbox, ["--port", "8099", "--db",
                                                  str(tmp_path / "s.sqlite3")])
    assert result.exit_code == 0, result.output
    assert served and served[0]["port"] == 8099
    served.clear()
    CliRunner().invoke(command.sandbox, ["serve", "--port", "8098"])
    assert served[0]["port"] == 8098
