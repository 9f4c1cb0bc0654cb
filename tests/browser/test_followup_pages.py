"""A follow-up task answered by the learner on the phone page, and the admin's queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

import store
from config import Settings
from sidecar.followup_wiring import dispatcher_for, policy_for, rules_for
from sidecar.wiring import build_client
from tests.browser.conftest import sign_in
from tests.conftest import REPO
from tests.integration.test_followups import Event, _learners
from webhooks.clock import ManualClock
from webhooks.intake import describe
from webhooks.schedule import start_sequences

pytestmark = pytest.mark.browser


@pytest.fixture
def sent_task(sandbox, tmp_path):
    """A learner of COMM-101 completed it two days ago; the first practice task was sent."""
    settings = Settings(
        lms={"url": sandbox.url, "token": sandbox.admin_token},
        followups={"plans_file": str(REPO / "examples/followups.yaml"),
                   "coach": {"token": sandbox.admin_token}, "public_url": "http://sidecar.test",
                   "link_secret": "browser-test-link-key", "quiet_hours": None,
                   "check_enrolment": False, "stop_when_proficient": False},
        admin={"password": "browser test password", "session_key": "k" * 40,
               "secure_cookies": False})
    engine = store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.migrate(engine)
    client = build_client(settings.lms)
    course, learners = _learners(sandbox, "COMM-101")
    completed = datetime.now(UTC) - timedelta(days=2, hours=1)
    with store.session_scope(store.session_factory(engine)) as session:
        [sequence] = start_sequences(session, policy_for(settings), rules_for(settings),
                                     describe(client, Event(1, learners[0], course, completed)),
                                     completed)
        sequence_id = sequence.id
    assert dispatcher_for(settings, engine, ManualClock(datetime.now(UTC))).run().sent == 1
    with sandbox.state.transaction() as db:
        html = db.scalar("SELECT fullmessagehtml FROM messages ORDER BY id DESC LIMIT 1")
    path = re.search(r"http://sidecar\.test(/practice/[\w.\-]+)", html).group(1)
    engine.dispose()
    return settings, path, sequence_id


def test_the_learner_answers_a_task_on_the_phone_page(page, server, sent_task):
    settings, path, _ = sent_task
    base = server(followups=settings.followups.model_dump(mode="python"))
    page.goto(base + path)
    expect(page.get_by_role("heading")).to_be_visible()
    expect(page.get_by_text("SBI", exact=False)).to_be_visible()
    page.get_by_role("button", name=re.compile("done", re.I)).click()
    expect(page.get_by_text("Thank you", exact=False)).to_be_visible()
    page.goto(base + path)  # coming back shows the answer, changes nothing
    expect(page.get_by_text("You answered: done", exact=False)).to_be_visible()
    page.goto(base + "/practice/not-a-real-link")
    expect(page.get_by_role("heading")).to_be_visible()
    assert "Traceback" not in page.content()


def test_the_admin_pauses_and_resumes_a_sequence(page, server, sent_task):
    settings, _, sequence_id = sent_task
    base = server(followups=settings.followups.model_dump(mode="python"))
    sign_in(page, base)
    page.get_by_role("link", name="Follow-ups").click()
    page.get_by_role("link", name=f"#{sequence_id}").click()
    expect(page.get_by_role("cell", name="sent").first).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("resumed")
