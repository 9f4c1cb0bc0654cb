"""`sidecar check` as an admin runs it: the verdict, the fix, and the exit code."""

import json

import responses

from sidecar.cli import cli
from tests.unit.connector.conftest import REST, TOKEN, add_recording


def run(runner, config_file, *args):
    return runner.invoke(cli, ["--config", str(config_file), "check", *args])


@responses.activate
def test_full_service_is_ready_and_says_who_the_token_is(runner, config_file):
    add_recording(responses.mock, "01")
    result = run(runner, config_file)
    assert result.exit_code == 0, result.output
    assert "Moodle 4.5.6 (Build: 20250811)" in result.output
    assert "Admin User (admin, user id 2, a site administrator)" in result.output
    assert "Ready." in result.output
    assert (config_file.parent / "state.sqlite").exists()  # migrations applied on start


@responses.activate
def test_missing_functions_are_listed_per_feature_with_the_exact_fix(runner, config_file):
    add_recording(responses.mock, "89")  # a service with two functions only
    result = run(runner, config_file)
    assert result.exit_code == 1
    assert ("add core_competency_create_competency to the external service 'lms_sidecar'"
            in result.output)
    assert "Competency framework sync" in result.output
    assert "add core_competency_list_competency_frameworks" not in result.output


@responses.activate
def test_json_report_groups_missing_functions_by_feature(runner, config_file):
    add_recording(responses.mock, "89")
    result = run(runner, config_file, "--json")
    report = json.loads(result.stdout)
    features = {f["key"]: f for f in report["features"]}
    assert report["ready"] is False and report["exit_code"] == 1
    assert "core_competency_create_competency" in features["frameworks"]["missing"]
    assert "core_competency_list_competency_frameworks" not in features["frameworks"]["missing"]
    assert features["core"]["ready"] is True
    assert "core_message_send_instant_messages" in features["followups"]["missing"]
    assert "core_reportbuilder_retrieve_report" in features["followups"]["missing_optional"]


@responses.activate
def test_switched_off_feature_is_not_required(runner, config_file, monkeypatch):
    add_recording(responses.mock, "89")
    for key in ("FRAMEWORKS", "SKILLS_MAP", "GOALS", "FOLLOWUPS"):
        monkeypatch.setenv(f"SIDECAR_FEATURES__{key}", "false")
    result = run(runner, config_file, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fixes"] == []


@responses.activate
def test_refused_token_exits_2_without_showing_it(runner, config_file):
    responses.add(responses.POST, REST, json={"exception": "core\\exception\\moodle_exception",
                                              "errorcode": "invalidtoken",
                                              "message": "Invalid token - token not found"})
    result = run(runner, config_file)
    assert result.exit_code == 2
    assert "refused the token" in result.output
    assert TOKEN not in result.output


@responses.activate
def test_site_info_not_in_service_is_a_fix_not_an_outage(runner, config_file):
    responses.add(responses.POST, REST, json={"exception": "webservice_access_exception",
                                              "errorcode": "accessexception",
                                              "message": "Access control exception"})
    result = run(runner, config_file)
    assert result.exit_code == 1
    assert "add core_webservice_get_site_info to the external service" in result.output


def test_unreachable_site_exits_2(runner, config_file, monkeypatch):
    monkeypatch.setenv("SIDECAR_LMS__URL", "http://127.0.0.1:9")
    result = run(runner, config_file)
    assert result.exit_code == 2
    assert "cannot be reached" in result.output and "127.0.0.1:9" in result.output


@responses.activate
def test_competencies_switched_off_on_the_site_is_reported(runner, config_file):
    body = add_recording(responses.mock, "01").json
    responses.mock.reset()
    for feature in body["advancedfeatures"]:
        if feature["name"] == "enablecompetencies":
            feature["value"] = 0
    responses.add(responses.POST, REST, json=body)
    result = run(runner, config_file)
    assert result.exit_code == 1
    assert "Enable competencies" in result.output


@responses.activate
def test_unusable_store_is_not_ready(runner, config_file, monkeypatch):
    add_recording(responses.mock, "01")
    monkeypatch.setenv("SIDECAR_STORE__URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    result = run(runner, config_file)
    assert result.exit_code == 1
    assert "cannot open the state store" in result.output


def test_bad_config_names_file_key_and_expectation_and_exits_78(runner, config_file):
    config_file.write_text("lms:\n  url: https://x.example.org\n  format: yaml\n")
    result = run(runner, config_file)
    assert result.exit_code == 78
    assert str(config_file) in result.output
    assert "lms.format" in result.output and "expected one of json, xml" in result.output
    assert "Traceback" not in result.output
