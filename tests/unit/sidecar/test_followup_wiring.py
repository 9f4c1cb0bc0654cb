"""The composition root picks the practice channel and the jobs by the LMS kind, never the
domain code: Moodle and older Totara get coach messages, Totara 19 goal tasks; only Totara
gets the progress job."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

import store
from config import Settings
from sidecar.followup_jobs import DISPATCH_JOB, INTAKE_JOB, PROGRESS_JOB, add_followup_jobs
from sidecar.followup_wiring import has_course_competencies, practice_channel
from webhooks.clock import ManualClock
from webhooks.goal_channel import GoalTaskChannel
from webhooks.message_channel import MessageChannel

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
PLANS = Path(__file__).resolve().parents[3] / "examples" / "followups.yaml"
FOLLOWUPS = {"plans_file": PLANS, "link_secret": "link-secret-for-tests",
             "public_url": "https://sidecar.example.org", "calendar_events": True}


class Coach:
    """The coach's client, answering only the site-info call the message channel makes."""

    def site_info(self) -> SimpleNamespace:
        return SimpleNamespace(userid=7)


def moodle() -> Settings:
    return Settings(lms={"url": "https://moodle.example.org", "token": "t"},  # type: ignore[arg-type]
                    followups=FOLLOWUPS)  # type: ignore[arg-type]


def totara(release: str) -> Settings:
    return Settings(lms={"url": "https://totara.example.org", "kind": "totara",  # type: ignore[arg-type]
                         "client_id": "sidecar", "client_secret": "client-secret-value",
                         "token": "t"},
                    totara={"release": release}, followups=FOLLOWUPS)  # type: ignore[arg-type]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")


def test_moodle_and_totara_17_send_coach_messages(engine: Engine) -> None:
    for settings in (moodle(), totara("17"), totara("18")):
        channel = practice_channel(settings, engine, ManualClock(NOW), coach=Coach())  # type: ignore[arg-type]
        assert isinstance(channel, MessageChannel)
        assert (channel.sender_id, channel.calendar_events) == (7, True)
        assert not channel.reports_progress


def test_totara_19_makes_goal_tasks_without_a_coach(engine: Engine) -> None:
    channel = practice_channel(totara("19"), engine, ManualClock(NOW))
    assert isinstance(channel, GoalTaskChannel) and channel.reports_progress
    assert channel.client.transport.url == "https://totara.example.org"


def test_only_totara_reads_progress_and_only_moodle_lists_course_competencies() -> None:
    for settings, progress in ((moodle(), False), (totara("19"), True)):
        scheduler = BackgroundScheduler()
        assert add_followup_jobs(scheduler, settings.model_copy(update={
            "features": settings.features.model_copy(update={"followups": True})}),
            None)  # type: ignore[arg-type]
        jobs = {job.id for job in scheduler.get_jobs()}
        assert jobs == {INTAKE_JOB, DISPATCH_JOB} | ({PROGRESS_JOB} if progress else set())
    assert has_course_competencies(moodle()) and not has_course_competencies(totara("19"))
