"""Two `sidecar serve` instances, two gunicorn workers each, one PostgreSQL store: every
scheduled job runs once per fire time, whichever process fires first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

import store
from tests.conftest import REPO, _empty_pg_schema

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
PLANS = REPO / "examples" / "followups.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def due_task(sandbox, pg_url: str) -> tuple[int, int]:
    """In the store, before any instance starts: a learner of COMM-101 completed it three
    days ago, so the first practice task of the example plan is due."""
    from config import Settings
    from sidecar.followup_wiring import policy_for, rules_for
    from sidecar.wiring import build_client
    from tests.integration.test_followups import Event, _learners
    from webhooks.intake import describe
    from webhooks.schedule import start_sequences

    _empty_pg_schema(pg_url)
    engine = store.create_engine(pg_url)
    store.migrate(engine)
    settings = Settings(lms={"url": sandbox.url, "token": sandbox.admin_token},
                        followups={"plans_file": str(PLANS)})
    course, learners = _learners(sandbox, "COMM-101")
    completed = datetime.now(UTC) - timedelta(days=3)
    with store.session_scope(store.session_factory(engine)) as session:
        [sequence] = start_sequences(session, policy_for(settings), rules_for(settings),
                                     describe(build_client(settings.lms),
                                              Event(1, learners[0], course, completed)),
                                     completed)
        sequence_id = sequence.id
    engine.dispose()
    return sequence_id, learners[0]


@pytest.fixture
def instances(sandbox, pg_url: str, due_task, tmp_path: Path) -> Iterator[tuple[list[int], str]]:
    env = {**os.environ, "SIDECAR_LMS__TOKEN": sandbox.admin_token,
           "SIDECAR_STORE__URL": pg_url,
           "SIDECAR_FOLLOWUPS__COACH__TOKEN": sandbox.admin_token,
           "SIDECAR_FOLLOWUPS__LINK_SECRET": "two-instances-link-key"}
    ports, servers = [], []
    for number in (1, 2):
        port = _free_port()
        config = tmp_path / f"instance{number}.yaml"
        config.write_text(
            f"lms:\n  url: {sandbox.url}\n"
            f"sync:\n  sources: [{REPO / 'examples/frameworks'}]\n  schedule: '* * * * *'\n"
            f"server:\n  port: {port}\n  workers: 2\n"
            f"followups:\n  plans_file: {PLANS}\n  public_url: http://127.0.0.1:{port}\n"
            "  quiet_hours: null\n  check_enrolment: false\n  stop_when_proficient: false\n"
            "  dispatch_interval_seconds: 5\n  intake_interval_seconds: 5\n")
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "sidecar", "--config", str(config), "serve"], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        ports.append(port)
    try:
        yield ports, pg_url
    finally:
        outputs = []
        for server in servers:
            server.terminate()
            outputs.append(server.communicate(timeout=30)[0])
        for output in outputs:
            assert sandbox.admin_token not in output


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def test_the_nightly_sync_runs_once_per_fire_time_across_instances_and_workers(instances):
    ports, url = instances
    for port in ports:
        _wait_for(lambda port=port: _up(port), 60, f"instance on {port} did not start")
    engine = store.create_engine(url)

    def finished() -> list[store.SyncRun]:
        with store.session_scope(store.session_factory(engine)) as session:
            return [r for r in store.recent_runs(session, 50, kind="frameworks")
                    if r.trigger == "schedule" and r.status != "running"]

    _wait_for(lambda: finished(), 40, "no scheduled run finished")
    time.sleep(3)  # give every other worker the chance to (wrongly) run it too
    runs = finished()
    per_minute = Counter(r.started_at.replace(second=0, microsecond=0) for r in runs)
    assert all(count == 1 for count in per_minute.values()), per_minute
    assert all(r.status == "succeeded" for r in runs), [(r.status, r.error) for r in runs]
    engine.dispose()


def test_a_due_follow_up_is_sent_once_across_instances_and_workers(instances, due_task,
                                                                  sandbox):
    from sqlalchemy import select

    from store.models import FollowupTask

    _, url = instances
    sequence_id, learner = due_task
    engine = store.create_engine(url)

    def first_task() -> FollowupTask:
        with store.session_scope(store.session_factory(engine)) as session:
            return session.scalars(select(FollowupTask).where(
                FollowupTask.sequence_id == sequence_id).order_by(FollowupTask.id)).first()

    _wait_for(lambda: first_task().status == "sent", 60, "the due task was never sent")
    time.sleep(12)  # two more dispatch rounds in each of the four workers
    with sandbox.state.transaction() as db:
        messages = db.all(
            "SELECT m.id FROM messages m JOIN message_conversation_members mb ON "
            "mb.conversationid = m.conversationid AND mb.userid = ? WHERE m.useridfrom = 2",
            (learner,))
    assert len(messages) == 1, messages
    assert first_task().msgid == messages[0]["id"]
    engine.dispose()


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
    except (requests.ConnectionError, requests.Timeout):
        return False  # still starting: workers migrate the store and load the app first
