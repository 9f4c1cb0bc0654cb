"""The "Completions inbox" dashboard panel (SQLite and PostgreSQL) and the reconciliation job's
place in the scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import Engine

import store
from config import Settings
from sidecar.admin.panels import PANELS
from sidecar.completion_wiring import (
    PANEL_TITLE,
    RECONCILE_JOB,
    RUN_KIND,
    add_reconcile_job,
    inbox_panel,
    mount_webhooks,
)
from store.models import InboxStatus
from webhooks.inbox import COURSE_COMPLETED, IncomingEvent, record_event, set_watermark


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


def settings(**followups: object) -> Settings:
    return Settings(lms={"url": "https://lms.example.org", "token": "t"},  # type: ignore[arg-type]
                    followups=followups)


def completion(userid: int) -> IncomingEvent:
    return IncomingEvent(source="sidecar", event_type=COURSE_COMPLETED, event_id=f"e{userid}",
                         courseid=8, userid=userid, completed_at=datetime.now(UTC))


def test_panel_counts_ages_and_last_runs(engine: Engine) -> None:
    now = datetime.now(UTC)
    with store.session_scope(store.session_factory(engine)) as session:
        record_event(session, completion(1), now=now - timedelta(minutes=90))
        record_event(session, completion(2), now=now)
        record_event(session, IncomingEvent(source="sidecar", event_type="user.created",
                                            event_id="x"), now=now)
        assert inbox_panel(session, settings())[-1] == ("last reconciliation", "never")
        set_watermark(session, "reconcile:status", now)
        run = store.start_run(session, kind=RUN_KIND, site="s", trigger="schedule")
        store.finish_run(session, run, "failed", {"new": 0}, error="the LMS timed out")
    with store.session_scope(store.session_factory(engine)) as session:
        rows = inbox_panel(session, settings())
    values = dict(rows)
    assert [values[s.value] for s in InboxStatus] == [2, 0, 0, 1, 0]
    assert values["oldest unprocessed"] == "90 min"
    assert values["last reconciliation"].endswith(" ago")
    [(_label, outcome)] = [(k, v) for k, v in rows if k.startswith("last recorded run")]
    assert outcome == "failed: the LMS timed out"


def test_mounting_the_receiver_registers_the_panel(engine: Engine) -> None:
    app = Flask("t")
    mount_webhooks(app, settings(), engine)
    assert "webhooks.receive" in app.view_functions
    assert [p.rows for p in PANELS if p.title == PANEL_TITLE] == [inbox_panel]


def test_the_job_runs_on_its_interval_once_at_a_time(tmp_path: Path) -> None:
    plans = tmp_path / "plans.yaml"
    plans.write_text("version: 1\nplans: []\n")
    scheduler = BackgroundScheduler()
    assert add_reconcile_job(scheduler, settings(plans_file=str(plans)), None)  # type: ignore
    job = scheduler.get_job(RECONCILE_JOB)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(minutes=15)
    assert (job.max_instances, job.coalesce) == (1, True)


def test_no_job_without_plans_or_interval(tmp_path: Path) -> None:
    scheduler = BackgroundScheduler()
    assert not add_reconcile_job(scheduler, settings(), None)  # type: ignore[arg-type]
    off = settings(plans_file=str(tmp_path / "p.yaml"))
    off.webhooks.reconcile_every_minutes = None
    assert not add_reconcile_job(scheduler, off, None)  # type: ignore[arg-type]
    assert scheduler.get_jobs() == []
