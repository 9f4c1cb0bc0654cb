"""The Totara GraphQL client over HTTP against the sandbox playing Totara 17, 18 and 19."""

from __future__ import annotations

import logging

import pytest

from config import Settings
from connector import errors as e
from connector.sandbox import FaultConfig, SandboxServer, faults_of
from connector.sandbox.totara.site import TotaraSite
from connector.totara import operations as ops
from sidecar.totara_wiring import build_legacy_client, build_totara_client

pytestmark = pytest.mark.integration
SECRET = "sandbox-client-secret-0123456789"


@pytest.fixture(scope="module", params=["17", "18", "19"])
def totara(request):
    site = TotaraSite(release=request.param, client_secret=SECRET)
    with SandboxServer(totara=site) as server:
        yield server


@pytest.fixture
def site(totara):
    totara.reset()
    faults_of(totara.app).configure(FaultConfig())
    return totara


def settings(server, **lms) -> Settings:
    values = {"url": server.url, "kind": "totara", "client_id": "lms-sidecar",
              "client_secret": SECRET, "retries": {"attempts": 4, "backoff": 0.01}, **lms}
    return Settings(lms=values)  # type: ignore[arg-type]


def release(server) -> str:
    return server.app.extensions["sandbox.totara"].release


def test_status_users_and_managers_over_http(site, caplog):
    caplog.set_level(logging.DEBUG)
    client = build_totara_client(settings(site).lms)
    assert client.status().status == "ok"
    users = client.users()
    assert len(users) > 10 and all(u.username for u in users)
    managers = client.managers()
    assert managers and all(refs[0].id for refs in managers.values())
    assert SECRET not in caplog.text


def test_what_each_release_offers_is_probed_without_writing(site):
    client = build_totara_client(settings(site).lms)
    offered = {name for name, op in ops.OPERATIONS.items() if client.offers(op)}
    expected = {"17": {"totara_webapi_status", "core_user_users", "totara_job_job_assignments"}}
    expected["18"] = expected["17"] | {"core_course_courses", "perform_goal_user_goals",
                                       "perform_goal_view_goal", "perform_goal_create_goal",
                                       "perform_goal_update_goal", "perform_goal_delete_goal"}
    expected["19"] = expected["18"] | {"perform_goal_get_goal_tasks",
                                       "perform_goal_create_goal_task",
                                       "perform_goal_update_goal_task",
                                       "perform_goal_delete_goal_task",
                                       "perform_goal_set_goal_task_progress"}
    assert offered == expected[release(site)]
    with site.state.transaction() as db:
        assert db.scalar("SELECT COUNT(*) FROM perform_goal") == 0


def test_pagination_reads_every_course_in_pages_under_the_complexity_limit(site, monkeypatch):
    if release(site) == "17":
        with pytest.raises(e.UnknownOperationError, match="sidecar check"):
            build_totara_client(settings(site).lms).courses()
        return
    monkeypatch.setattr(type(ops.COURSES), "page_size", property(lambda self: 3))
    client = build_totara_client(settings(site).lms)
    courses = client.courses()
    with site.state.transaction() as db:
        assert len(courses) == db.scalar("SELECT COUNT(*) FROM course WHERE id > 1")
    assert client.stats.calls > 2


def test_goals_and_tasks_where_the_release_has_them(site):
    client = build_totara_client(settings(site).lms)
    if release(site) == "17":
        return
    user = client.users()[3]
    goal = client.create_goal({"name": "Lead a project", "id_number": "G-1",
                               "user": {"id": user.id}, "target_type": "date"})
    with pytest.raises(e.MutationFailedError) as info:
        client.create_goal({"name": "Again", "id_number": "G-1", "user": {"id": user.id}})
    assert info.value.codes == ("duplicate_id_number",)
    assert [g.id_number for g in client.user_goals(user.id)] == ["G-1"]
    if release(site) == "19":
        task = client.create_goal_task(goal.id, "Practise: run a stand-up", course_id=2)
        assert [t.id for t in client.goal_tasks(goal.id)] == [task.id]


def test_429_injected_by_the_fault_injector_is_backed_off(site):
    faults_of(site.app).configure(FaultConfig(script=["429", "429"], retry_after=0,
                                              functions=["totara_webapi_status"]))
    client = build_totara_client(settings(site).lms)
    assert client.status().status == "ok"
    assert client.stats.by_function()[0].calls == 1


def test_an_expired_token_is_renewed_once(site):
    client = build_totara_client(settings(site).lms)
    client.status()
    site.state.clock.advance(3600)
    assert client.status().status == "ok"
    assert client.transport.auth.fetched == 2  # type: ignore[attr-defined]


def test_a_wrong_secret_names_the_fix_and_never_shows_the_secret(site):
    client = build_totara_client(settings(site, client_secret="wrong-secret-value").lms)
    with pytest.raises(e.InvalidClientError) as info:
        client.status()
    assert "lms.client_id" in str(info.value) and "wrong-secret-value" not in str(info.value)


def test_the_api_switched_off_answers_400_and_says_so(site):
    site.app.extensions["sandbox.totara"].api_enabled = False
    try:
        with pytest.raises(e.TotaraApiDisabledError, match="Enable external API"):
            build_totara_client(settings(site).lms).status()
    finally:
        site.app.extensions["sandbox.totara"].api_enabled = True


def test_legacy_web_services_go_through_the_moodle_transport(site):
    legacy = build_legacy_client(settings(site, token=site.admin_token).lms)
    assert legacy is not None
    names = legacy.site_info().function_names
    assert "core_completion_get_course_completion_status" in names
    assert "totara_competency_set_linked_courses" in names
    assert not [n for n in names if n.startswith(("core_competency_", "tool_lp_"))]
    with pytest.raises(e.UnknownFunctionError):
        legacy.transport.call("core_competency_list_competencies", {})
