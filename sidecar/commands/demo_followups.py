"""The follow-up part of ``sidecar demo``: a completion webhook in, a practice task out to the
learner in Moodle, the learner's answer on the practice page, the next task rescheduled.

The service runs in this process on a free loopback port (werkzeug), so the demo reaches it
over HTTP exactly as Moodle and the learner's browser would. Time moves forward by hand: the
sidecar's clock (``--at`` for the CLI, a :class:`ManualClock` for the answer page) and the
sandbox's clock (``/_sandbox/clock``) together.
"""

from __future__ import annotations

import html
import json
import os
import re
import textwrap
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import click
from flask import Flask
from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from werkzeug.serving import make_server

from connector.sandbox import SandboxServer
from connector.sandbox.dump import dump_state
from webhooks.client import completion_event, send_event
from webhooks.clock import ManualClock
from webhooks.timing import zone_for

PLANS = Path(__file__).resolve().parents[2] / "examples" / "followups.yaml"
# Demo-only secrets, made up here and never used anywhere else.
WEBHOOK_SECRET = "whsec_ZGVtbyB3ZWJob29rIHNlY3JldCwgbm90IGZvciBwcm9kdWN0aW9u"  # noqa: S105
LINK_SECRET = "demo link secret, not for production use"  # noqa: S105
COURSE = "COMM-101"


class DemoSteps(Protocol):
    """What the demo offers its parts: CLI steps, headings and HTTP steps for the summary."""

    def run(self, title: str, args: list[str], expected: Sequence[int] = (0,)) -> int: ...

    def heading(self, title: str) -> None: ...

    def record(self, title: str, command: str, ok: bool) -> None: ...


@dataclass
class _LateApp:
    """A WSGI app whose Flask app is set after the server is bound (its URL goes into the
    config that builds the app)."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


def followups_demo(console: Console, site: SandboxServer, config: Path,
                   steps: DemoSteps) -> None:
    """Run the follow-up steps, recording each in ``steps``."""
    late = _LateApp()
    http = make_server("127.0.0.1", 0, late, threaded=True)
    url = f"http://127.0.0.1:{http.server_port}"
    thread = threading.Thread(target=http.serve_forever, name="demo-sidecar", daemon=True)
    thread.start()
    # The coach's own token, made as a Moodle admin would (Manage tokens).
    coach_token = _sandbox_post(site, "/_sandbox/tokens", {"userid": 2})["token"]
    secrets = {"SIDECAR_WEBHOOKS__SIDECAR__SECRETS": WEBHOOK_SECRET,
               "SIDECAR_FOLLOWUPS__COACH__TOKEN": coach_token,
               "SIDECAR_FOLLOWUPS__LINK_SECRET": LINK_SECRET}
    try:
        with environment(secrets):
            _steps(console, site, config, steps, late, url)
    finally:
        http.shutdown()
        thread.join(timeout=10)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables (the secrets an admin would export); restore them after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _steps(console: Console, site: SandboxServer, config: Path, steps: DemoSteps,
           late: _LateApp, url: str) -> None:
    from config import load_settings
    from sidecar.app import create_app
    from sidecar.followup_wiring import use_clock

    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"webhooks:\n  sidecar:\n    enabled: true\n"
                     f"followups:\n  plans_file: {PLANS}\n  public_url: {url}\n"
                     f"  quiet_hours: {{start: '20:00', end: '08:00'}}\n  daily_cap: 1\n")
    settings = load_settings(config)
    clock = ManualClock(datetime.now(UTC))
    app = create_app(settings)
    use_clock(app, settings, app.extensions["sidecar"].engine, clock)
    late.app = app
    health = _http("GET", f"{url}/healthz")
    steps.heading("Start the service: webhook receiver, learner page, scheduler")
    console.print(f"$ sidecar serve   (here in-process at {url})", style="cyan",
                  highlight=False)
    console.print(f"GET /healthz -> {health[0]} {health[1].strip()}", highlight=False)
    steps.record("Start the service (webhooks in, learner page)", "sidecar serve",
           health[0] == 200)

    learner, name, zone = _learner(site)
    courseid = _course_id(site)
    steps.heading(f"{name} completes {COURSE} in Moodle: a signed webhook")
    delivery = send_event(f"{url}/webhooks/sidecar", WEBHOOK_SECRET,
                          completion_event(courseid=courseid, userid=learner,
                                           completed_at=clock.now()))
    console.print(f"POST {url}/webhooks/sidecar  (course.completed, learner {learner}, "
                  f"course {courseid}; Standard Webhooks signature)\n-> {delivery.status} "
                  f"{json.dumps(delivery.body)}", highlight=False)
    steps.record("A completion arrives by signed webhook", "POST /webhooks/sidecar",
           200 <= delivery.status < 300)

    steps.run("Turn new completions into follow-up practice", ["followups", "intake"])
    steps.run("The follow-up queue", ["followups", "list"])
    local_noon = datetime.combine((clock.now() + timedelta(days=3)).astimezone(zone).date(),
                                  time(12, 0), tzinfo=zone)
    at = local_noon.astimezone(UTC).replace(second=0, microsecond=0)
    _move_time(console, site, clock, at)
    steps.run("Send the practice tasks that are due", ["followups", "dispatch", "--at",
                                                       at.strftime("%Y-%m-%dT%H:%M")])
    link = _show_message(console, site, learner, steps)
    if link is None:
        return
    _answer(console, link, steps)
    sequence = _sequence_of(config, learner)
    if sequence is None:
        steps.record("The answer moved the next task", "sidecar followups show", False)
        return
    steps.run("The answer moved the next task (FSRS)", ["followups", "show", str(sequence)])


def _learner(site: SandboxServer) -> tuple[int, str, Any]:
    with site.state.transaction() as db:
        row = db.one("SELECT u.id, u.firstname, u.lastname, u.timezone FROM user u JOIN "
                     "user_enrolments e ON e.userid = u.id JOIN course c ON c.id = e.courseid "
                     "WHERE c.shortname = ? ORDER BY u.id LIMIT 1", (COURSE,))
    if row is None:
        raise click.ClickException(f"the sandbox has no learner in {COURSE}")
    return row["id"], f"{row['firstname']} {row['lastname']}", zone_for(row["timezone"], "UTC")


def _course_id(site: SandboxServer) -> int:
    with site.state.transaction() as db:
        found: int = db.scalar("SELECT id FROM course WHERE shortname = ?", (COURSE,))
    return found


def _move_time(console: Console, site: SandboxServer, clock: ManualClock,
               at: datetime) -> None:
    seconds = int((at - clock.now()).total_seconds())
    clock.set(at)
    moved = _sandbox_post(site, "/_sandbox/clock", {"advance": seconds})
    console.print(Rule("[bold]Three days later (noon, the learner's time)"))
    console.print(f"(The sidecar's clock and the sandbox's clock move {seconds // 3600} hours "
                  f"forward: now {at:%A %d %B %Y %H:%M} UTC; sandbox time {moved['now']}.)",
                  style="dim", highlight=False)


def _show_message(console: Console, site: SandboxServer, learner: int,
                  steps: DemoSteps) -> str | None:
    """Print the learner's messages as the sandbox holds them; return the answer link."""
    with site.state.transaction() as db:
        messages = [m for m in dump_state(db)["messages"] if m["useridto"] == learner]
        html = [db.scalar("SELECT fullmessagehtml FROM messages WHERE id = ?", (m["id"],))
                for m in messages]
    steps.heading("In Moodle: the learner's message from the practice coach")
    console.print("$ sidecar sandbox dump   (messages to the learner)", style="cyan")
    table = Table(title="Messages", title_justify="left")
    for column in ("id", "from", "to", "text"):
        table.add_column(column)
    for m in messages:
        table.add_row(str(m["id"]), str(m["useridfrom"]), str(m["useridto"]), m["text"][:90])
    console.print(table)
    links = [found.group(1) for body in html
             if (found := re.search(r'href="([^"]+/practice/[^"]+)"', body or ""))]
    steps.record("The learner has one practice message with a link", "sidecar sandbox dump",
           len(messages) == 1 and len(links) == 1)
    return links[0] if len(links) == 1 else None


def _answer(console: Console, link: str, steps: DemoSteps) -> None:
    steps.heading("The learner opens the link in the message (no login)")
    status, page = _http("GET", link)
    task = re.search(r'<div class="task">(.*?)</div>', page, re.S)
    buttons = re.findall(r'name="answer" value="([a-z_]+)"', page)
    console.print(f"GET {link[:60]}... -> {status}", highlight=False)
    text = " ".join(html.unescape(task.group(1)).split()) if task else "?"
    console.print(Panel(Text(f"{textwrap.fill(text, 74)}\n\nButtons: {', '.join(buttons)}"),
                        title="How did your practice go?", width=80))
    steps.record("The learner opens the practice page", "GET /practice/<token>",
                 status == 200 and "done" in buttons)
    steps.heading("The learner answers with one click: done")
    status, page = _http("POST", link, {"answer": "done"})
    thanks = re.search(r"<p>(.*?)</p>", page, re.S)
    console.print(f"POST answer=done -> {status}: {thanks.group(1) if thanks else '?'}",
                  highlight=False)
    steps.record("The learner answers 'done'", "POST /practice/<token>",
                 status == 200 and "Thank you" in page)


def _sequence_of(config: Path, learner: int) -> int | None:
    import store
    from config import load_settings
    from store.models import FollowupSequence

    engine = store.create_engine(load_settings(config).store.url)
    try:
        with store.session_scope(store.session_factory(engine)) as session:
            found = session.query(FollowupSequence.id).filter(
                FollowupSequence.learner_id == learner).order_by(FollowupSequence.id).first()
    finally:
        engine.dispose()
    return None if found is None else int(found[0])


def _http(method: str, url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    from urllib.error import HTTPError

    data = urlencode(form).encode() if form is not None else None
    request = Request(url, data=data, method=method)  # noqa: S310 - our own loopback server
    try:
        with urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def _sandbox_post(site: SandboxServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = Request(f"{site.url}{path}", data=json.dumps(body).encode(),  # noqa: S310
                      method="POST", headers={"Authorization": f"Bearer {site.admin_token}",
                               "Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox on loopback
        answer: dict[str, Any] = json.loads(response.read())
    return answer
