"""The nightly framework sync: once per fire time, failures recorded, missed runs caught up,
and `sidecar serve` under gunicorn with two workers."""

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

import store
from config import Settings
from sidecar.scheduler import missed_run, run_framework_sync, start_scheduler
from tests.conftest import REPO

pytestmark = pytest.mark.integration

EXAMPLES = REPO / "examples/frameworks"


@pytest.fixture
def nightly(sandbox):
    def make(**sync: object) -> Settings:
        values: dict[str, object] = {"sources": [str(EXAMPLES)], "schedule": "0 2 * * *"}
        values.update(sync)
        return Settings(lms={"url": sandbox.url, "token": sandbox.admin_token},
                        sync=values)  # type: ignore[arg-type]
    return make


def runs(engine):
    with store.session_scope(store.session_factory(engine)) as session:
        return [(r.trigger, r.status, r.error) for r in store.recent_runs(session)]


def test_a_fire_time_is_run_once_however_many_workers_fire(nightly, engine):
    settings = nightly()
    at = datetime(2026, 11, 22, 2, 0, 3, tzinfo=UTC)
    assert run_framework_sync(settings, engine, now=at) == "succeeded"
    assert run_framework_sync(settings, engine, now=at + timedelta(seconds=2)) == "already done"
    assert runs(engine) == [("schedule", "succeeded", None)]


def test_a_failed_scheduled_run_is_recorded_not_silent(nightly, engine, tmp_path):
    settings = nightly(sources=[str(tmp_path / "gone.yaml")])
    assert run_framework_sync(settings, engine) == "failed"
    [(trigger, status, error)] = runs(engine)
    assert (trigger, status) == ("schedule", "failed")
    assert "gone.yaml" in error and "no such file" in error


def test_a_run_missed_while_down_is_due_within_the_grace_period(nightly, engine):
    settings = nightly(misfire_grace_seconds=3600)
    fire = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert missed_run(settings, engine, fire + timedelta(minutes=30)) == fire
    assert missed_run(settings, engine, fire + timedelta(hours=2)) is None  # too late
    with store.session_scope(store.session_factory(engine)) as session:
        run = store.start_run(session, kind="frameworks", site="x", trigger="schedule")
        run.started_at = fire + timedelta(seconds=5)
        store.finish_run(session, run, "succeeded")
    assert missed_run(settings, engine, fire + timedelta(minutes=30)) is None


def test_the_scheduler_coalesces_and_never_overlaps_itself(nightly, engine):
    scheduler = start_scheduler(nightly(schedule="30 1 * * 1-5", timezone="Europe/Paris"),
                                engine)
    try:
        job = scheduler.get_job("framework-sync")
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == 3600
        assert str(job.next_run_time.tzinfo) == "Europe/Paris"
        assert (job.next_run_time.hour, job.next_run_time.minute) == (1, 30)
    finally:
        scheduler.shutdown(wait=False)


def test_no_schedule_means_no_scheduler(nightly, engine):
    assert start_scheduler(nightly(schedule=None), engine) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_two_workers_answers_and_runs_a_missed_sync_once(sandbox, tmp_path):
    port = _free_port()
    config = tmp_path / "sidecar.yaml"
    config.write_text(
        f"lms:\n  url: {sandbox.url}\nstore:\n  url: sqlite:///state.sqlite\n"
        f"sync:\n  sources: [{EXAMPLES}]\n  schedule: '* * * * *'\n"
        f"server:\n  port: {port}\n  workers: 2\n")
    env = {**os.environ, "SIDECAR_LMS__TOKEN": sandbox.admin_token}
    server = subprocess.Popen([sys.executable, "-m", "sidecar", "--config", str(config),
                               "serve"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "sidecar serve did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["lms"] == "ok"
        engine = store.create_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
        while not [r for r in runs(engine) if r[1] != "running"]:
            assert time.monotonic() < deadline + 10, "no scheduled run was recorded"
            time.sleep(0.2)
        time.sleep(1)
        scheduled = [r for r in runs(engine) if r[0] == "schedule"]
        assert scheduled[-1][:2] == ("schedule", "succeeded")
        assert len([r for r in scheduled if r[2] is None]) >= 1
        # whichever worker answers, /metrics adds up the calls every worker made
        for _ in range(4):
            metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert ('sidecar_lms_calls_total{function="core_competency_list_competency_'
                    'frameworks",outcome="ok"}') in metrics
            assert 'sidecar_sync_runs{kind="frameworks",status="succeeded"}' in metrics
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output[-2000:]
    assert sandbox.admin_token not in output


def totara_nightly(tmp_path, sources: object = EXAMPLES, **totara: object) -> Settings:
    return Settings(lms={"kind": "totara", "url": "https://totara.example.org",
                         "client_id": "lms-sidecar", "client_secret": "not-used-by-hr-import"},
                    sync={"sources": [str(sources)], "schedule": "0 2 * * *"},
                    totara=totara)  # type: ignore[arg-type]


def test_on_a_totara_site_the_nightly_run_writes_the_hr_import_file_once(engine, tmp_path):
    folder = tmp_path / "hrimport"
    folder.mkdir()
    settings = totara_nightly(tmp_path, hr_import_dir=str(folder))
    at = datetime(2026, 11, 22, 2, 0, 3, tzinfo=UTC)
    assert run_framework_sync(settings, engine, now=at) == "succeeded"
    assert run_framework_sync(settings, engine, now=at + timedelta(seconds=2)) == "already done"
    assert runs(engine) == [("schedule", "succeeded", None)]
    header, *rows = (folder / "competency.csv").read_text(encoding="utf-8").splitlines()
    assert header.startswith("idnumber,fullname")
    assert len(rows) > 40  # every competency of the two example frameworks
    # the missed-run check looks at the HR Import runs, not the Moodle sync's
    assert missed_run(settings, engine, at + timedelta(minutes=5)) is None


def test_a_totara_site_without_the_hr_import_folder_fails_the_run_plainly(engine, tmp_path,
                                                                          caplog):
    assert run_framework_sync(totara_nightly(tmp_path), engine) == "failed"
    assert "totara.hr_import_dir" in caplog.text


def test_a_failed_totara_export_is_recorded_not_silent(engine, tmp_path):
    folder = tmp_path / "hrimport"
    folder.mkdir()
    settings = totara_nightly(tmp_path, tmp_path / "gone.yaml", hr_import_dir=str(folder))
    assert run_framework_sync(settings, engine) == "failed"
    [(trigger, status, error)] = runs(engine)
    assert (trigger, status) == ("schedule", "failed") and "gone.yaml" in error
    assert not list(folder.iterdir())  # nothing half-written for HR Import to pick up
