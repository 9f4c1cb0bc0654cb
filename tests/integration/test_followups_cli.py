"""`sidecar followups list|show|pause|resume|cancel|optout|report|dispatch|intake` against the
sandbox: exit codes and `--json` (JSON only on stdout)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import store
from sidecar.cli import cli
from webhooks.events import COURSE_COMPLETED
from webhooks.inbox import IncomingEvent, record_event

pytestmark = pytest.mark.integration
PLANS = Path(__file__).resolve().parents[2] / "examples" / "followups.yaml"
COMPLETED = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DUE = "2026-11-04T12:00"  # two days later, noon UTC: outside the quiet hours


@pytest.fixture
def config(sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Path:
    import os

    for name in [n for n in os.environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", sandbox.admin_token)
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__COACH__TOKEN", sandbox.admin_token)
    monkeypatch.setenv("SIDECAR_FOLLOWUPS__LINK_SECRET", "cli test link secret")
    path = tmp_path / "sidecar.yaml"
    path.write_text(f"lms:\n  url: {sandbox.url}\n  retries: {{attempts: 2, backoff: 0.01}}\n"
                    f"store:\n  url: {store_url}\n"
                    f"followups:\n  plans_file: {PLANS}\n  public_url: http://sidecar.test\n"
                    "  quiet_hours: null\n", encoding="utf-8")
    engine = store.create_engine(store_url)
    store.migrate(engine)
    with sandbox.state.transaction() as db:
        course = db.scalar("SELECT id FROM course WHERE shortname = 'COMM-101'")
        learners = [r["userid"] for r in db.all(
            "SELECT userid FROM user_enrolments WHERE courseid = ? ORDER BY userid LIMIT 2",
            (course,))]
    with store.session_scope(store.session_factory(engine)) as session:
        for learner in learners:
            record_event(session, IncomingEvent(
                source="sidecar", event_type=COURSE_COMPLETED, event_id=f"e-{learner}",
                courseid=course, userid=learner, completed_at=COMPLETED), now=COMPLETED)
    engine.dispose()
    return path


def sidecar(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def as_json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_queue_by_hand(config: Path) -> None:
    intake = sidecar(config, "followups", "intake", "--at", "2026-11-02T12:01")
    assert intake.exit_code == 0 and "Started 2 sequence(s)" in intake.output
    rows = as_json(sidecar(config, "followups", "list", "--json"))
    assert isinstance(rows, list) and [r["state"] for r in rows] == ["active", "active"]
    first, second = sorted(r["id"] for r in rows)
    assert "Follow-up sequences" in sidecar(config, "followups", "list").output

    shown = as_json(sidecar(config, "followups", "show", str(first), "--json"))
    assert isinstance(shown, dict) and shown["plan"] == "sbi-feedback"
    assert [t["status"] for t in shown["tasks"]] == ["scheduled"]
    assert sidecar(config, "followups", "show", "999").exit_code == 3

    assert sidecar(config, "followups", "pause", str(first)).exit_code == 0
    assert sidecar(config, "followups", "pause", str(first)).exit_code == 3  # already paused
    assert as_json(sidecar(config, "followups", "list", "--state", "paused",
                           "--json"))[0]["id"] == first  # type: ignore[index]

    sent = as_json(sidecar(config, "followups", "dispatch", "--at", DUE, "--json"))
    assert isinstance(sent, dict) and (sent["sent"], sent["errors"]) == (1, [])  # paused one not
    assert sidecar(config, "followups", "resume", str(first)).exit_code == 0
    assert sidecar(config, "followups", "resume", str(first)).exit_code == 3
    again = sidecar(config, "followups", "dispatch", "--at", DUE)
    assert again.exit_code == 0 and "Sent 1," in again.output

    assert sidecar(config, "followups", "cancel", str(second)).exit_code == 0
    assert sidecar(config, "followups", "cancel", str(second)).exit_code == 3
    assert sidecar(config, "followups", "cancel", "999").exit_code == 3
    learner = as_json(sidecar(config, "followups", "show", str(first), "--json"))
    opted = sidecar(config, "followups", "optout", str(learner["learner_id"]))  # type: ignore[index]
    assert opted.exit_code == 0 and "1 sequence(s) stopped" in opted.output
    states = {r["id"]: r["state"] for r in as_json(  # type: ignore[union-attr]
        sidecar(config, "followups", "list", "--json"))}
    assert states == {first: "stopped", second: "cancelled"}

    report = as_json(sidecar(config, "followups", "report", "--json"))
    assert isinstance(report, list) and report[0]["sent"] == 2
    assert "Practice per competency" in sidecar(config, "followups", "report").output


def test_dispatch_fails_with_1_and_names_the_missing_setting(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIDECAR_FOLLOWUPS__LINK_SECRET")
    result = sidecar(config, "followups", "dispatch", "--json")
    assert result.exit_code == 1
    assert result.stdout == "" and "SIDECAR_FOLLOWUPS__LINK_SECRET" in result.stderr
