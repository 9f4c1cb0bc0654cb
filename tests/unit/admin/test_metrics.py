"""/metrics: calls by function and outcome, runs and queues from the store, no secrets."""

import logging

import responses

import store
from tests.unit.admin.conftest import LMS_TOKEN, PASSWORD, SESSION_KEY
from tests.unit.connector.conftest import add_recording


def scrape(app) -> str:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.text


def value(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not in /metrics")


@responses.activate
def test_lms_calls_are_counted_by_function_and_outcome(app):
    from sidecar.wiring import build_client

    add_recording(responses.mock, "01")
    before = scrape(app)
    series = ('sidecar_lms_calls_total{function="core_webservice_get_site_info",'
              'outcome="ok"}')
    start = value(before, series) if series in before else 0.0
    build_client(app.extensions["sidecar"].settings.lms).site_info()
    assert value(scrape(app), series) == start + 1


def test_runs_and_queues_are_read_from_the_store(app):
    engine = app.extensions["sidecar"].engine
    with store.session_scope(store.session_factory(engine)) as session:
        run = store.start_run(session, kind="frameworks", site="x")
        store.finish_run(session, run, "failed", error="boom")
    text = scrape(app)
    assert value(text, 'sidecar_sync_runs{kind="frameworks",status="failed"}') == 1
    assert "sidecar_inbox_events" in text and "sidecar_followup_tasks_due 0.0" in text


def test_errors_logged_are_counted(app):
    from sidecar.logs import setup_logging

    setup_logging("INFO")
    logging.getLogger("sync.apply").error("a step failed")
    assert value(scrape(app), 'sidecar_errors_total{component="sync"}') >= 1


def test_no_secret_reaches_the_metrics(app):
    text = scrape(app)
    for secret in (LMS_TOKEN, PASSWORD, SESSION_KEY):
        assert secret not in text
