"""The follow-up part of ``sidecar demo --totara``: a Totara 19 webhook in, a practice task out
as a goal task on the learner's practice goal (Totara 19) or a coach message through the
legacy web services (17, 18), the learner ticking the goal task, the tick fed to the schedule.

It shares the Moodle follow-up demo's machinery (the in-process service, the two clocks);
only what a Totara learner sees differs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from rich.console import Console
from rich.rule import Rule
from rich.table import Table
from werkzeug.serving import make_server

from connector.sandbox import SandboxServer
from sidecar.commands.demo_followups import (
    LINK_SECRET,
    PLANS,
    DemoSteps,
    _answer,
    _course_id,
    _LateApp,
    _learner,
    _move_time,
    _sandbox_post,
    _sequence_of,
    _show_message,
    environment,
)
from webhooks.clock import ManualClock

# Demo-only secret, made up here and never used anywhere else.
TOTARA_WEBHOOK_SECRET = "demo-totara-webhook-secret-not-for-production"  # noqa: S105


@contextmanager
def demo_service(site: SandboxServer, goal_tasks: bool) -> Iterator[tuple[_LateApp, str]]:
    """The service's loopback address (the app is set once the config exists) and the
    follow-ups' secrets in the environment, as an admin would set them; restored after."""
    late = _LateApp()
    http = make_server("127.0.0.1", 0, late, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="demo-sidecar", daemon=True)
    thread.start()
    secrets = {"SIDECAR_WEBHOOKS__TOTARA__SECRETS": TOTARA_WEBHOOK_SECRET,
               "SIDECAR_FOLLOWUPS__LINK_SECRET": LINK_SECRET}
    if not goal_tasks:  # messages need the coach's own token (Manage tokens)
        secrets["SIDECAR_FOLLOWUPS__COACH__TOKEN"] = _sandbox_post(
            site, "/_sandbox/tokens", {"userid": 2})["token"]
    try:
        with environment(secrets):
            yield late, f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=10)


def followups_config(url: str) -> str:
    """The config sections of the Totara follow-ups (secrets are in the environment)."""
    return (f"webhooks:\n  totara:\n    enabled: true\n"
            f"followups:\n  plans_file: {PLANS}\n  public_url: {url}\n"
            f"  stop_when_proficient: false\n  daily_cap: 1\n")


def totara_followups_demo(console: Console, site: SandboxServer, config: Path,
                          steps: DemoSteps, late: _LateApp, url: str,
                          goal_tasks: bool) -> None:
    """A completion in, a practice task out, the learner's tick fed to the schedule."""
    from config import load_settings
    from sidecar.app import create_app
    from sidecar.followup_wiring import use_clock

    settings = load_settings(config)
    clock = ManualClock(datetime.now(UTC))
    app = create_app(settings)
    use_clock(app, settings, app.extensions["sidecar"].engine, clock)
    late.app = app
    learner, name, zone = _learner(site)
    courseid = _course_id(site)
    steps.heading(f"{name} completes COMM-101 in Totara: a signed Totara 19 webhook")
    status, answer = _totara_webhook(f"{url}/webhooks/totara", courseid, learner, clock.now())
    console.print(f"POST {url}/webhooks/totara  (\\core\\event\\course_completed; "
                  f"X-Totara-Signature)\n-> {status} {answer}", highlight=False)
    steps.record("A Totara completion arrives by signed webhook", "POST /webhooks/totara",
                 200 <= status < 300)
    steps.run("Turn new completions into follow-up practice", ["followups", "intake"])
    noon = datetime.combine((clock.now() + timedelta(days=3)).astimezone(zone).date(),
                            time(12, 0), tzinfo=zone)
    at = noon.astimezone(UTC).replace(second=0, microsecond=0)
    _move_time(console, site, clock, at)
    when = at.strftime("%Y-%m-%dT%H:%M")
    steps.run("Send the practice tasks that are due", ["followups", "dispatch", "--at", when])
    if not goal_tasks:
        console.print("(Totara before 19 has no goal tasks: the task went as a message from "
                      "the coach through the legacy web services.)", style="dim")
        link = _show_message(console, site, learner, steps)
        if link is not None:
            _answer(console, link, steps)
        return
    task = _show_goal_tasks(console, site, learner, steps)
    if task is None:
        return
    steps.heading("The learner ticks the practice task in Totara")
    ticked = _sandbox_post(site, f"/_sandbox/totara/goal-tasks/{task}/tick",
                           {"userid": learner})
    console.print(f"(In Totara, {name} marks goal task {task} complete.)", style="dim",
                  highlight=False)
    steps.record("The learner ticks the goal task", "POST /_sandbox/totara/goal-tasks/<id>/tick",
                 ticked.get("ok") is True)
    steps.run("Read the learners' progress on their goal tasks",
              ["followups", "progress", "--at", when])
    sequence = _sequence_of(config, learner)
    if sequence is not None:
        steps.run("The tick moved the next task (FSRS)", ["followups", "show", str(sequence)])


def _totara_webhook(url: str, courseid: int, userid: int, at: datetime) -> tuple[int, str]:
    """POST what Totara's webhook sends for a course completion, signed as Totara signs."""
    stamp = int(at.timestamp())
    body = json.dumps({"attempt": 1, "event": "\\core\\event\\course_completed",
                       "time_created": stamp, "time_sent": stamp, "webhook_id": 1,
                       "body": {"id": 1, "userid": userid, "course": courseid,
                                "timecompleted": stamp}}).encode()
    signature = hmac.new(TOTARA_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = Request(url, data=body, method="POST",  # noqa: S310 - our own loopback server
                      headers={"Content-Type": "application/json",
                               "X-Totara-Signature": signature})
    try:
        with urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def _show_goal_tasks(console: Console, site: SandboxServer, learner: int,
                     steps: DemoSteps) -> int | None:
    """Print the learner's goal tasks as Totara holds them; return the one to tick."""
    request = Request(f"{site.url}/_sandbox/totara/goal-tasks?userid={learner}",  # noqa: S310
                      headers={"Authorization": f"Bearer {site.admin_token}"})
    with urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox on loopback
        tasks: list[dict[str, Any]] = json.loads(response.read())
    steps.heading("In Totara: the learner's practice goal and its goal task")
    table = Table(title="Goal tasks", title_justify="left")
    for column in ("id", "goal", "course", "done", "description"):
        table.add_column(column)
    for t in tasks:
        table.add_row(str(t.get("id")), str(t.get("goal_id")), str(t.get("resource_id")),
                      "yes" if t.get("completed") else "no",
                      " ".join(str(t.get("description", "")).split())[:70])
    console.print(Rule("[dim]as the sandbox holds them"))
    console.print(table)
    ok = len(tasks) == 1 and tasks[0].get("resource_type") == "course"
    steps.record("The learner has one practice goal task, linked to the course",
                 "GET /_sandbox/totara/goal-tasks", ok)
    return int(tasks[0]["id"]) if ok else None

