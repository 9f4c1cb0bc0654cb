"""Follow-up dispatch benchmark: 10,000 due practice tasks sent to the sandbox with latency.

A blank sandbox site runs in its own process with injected latency per call; it gets one
learner per task (``core_user_create_users``, not timed). The store (an SQLite file) gets one
sequence with one due task per learner, inserted in bulk (not timed). Then one
:class:`webhooks.dispatch.Dispatcher` with ``CONCURRENCY`` workers sends everything that is
due, with the real client over HTTP, as ``sidecar followups dispatch`` does.

The concurrency-bound limit is the time the sends alone need when every worker always has a
call in flight: ceil(ceil(N / batch) / concurrency) x latency. The target is within 1.3 x of
it. Duplicates are counted in the sandbox afterwards: every message carries its task's
reference line, so messages - distinct references must be 0, and messages must equal N.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from pydantic import SecretStr
from sqlalchemy import insert, select

import store
from bench.report import Figure, Report
from bench.sandbox import SandboxProcess
from config import Settings
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.sandbox import FaultConfig
from sidecar.wiring import build_client
from store.models import FollowupSequence, FollowupTask
from webhooks.clock import ManualClock
from webhooks.dispatch import Dispatcher, DispatchReport, SendRules
from webhooks.links import LinkSigner
from webhooks.message_channel import MessageChannel
from webhooks.policy import Plan, Policy
from webhooks.schedule import Rules

LATENCY_MS = 50.0
CONCURRENCY = 8
BATCH = 100
TIME_TARGET = 1.3
FULL_TASKS = 10_000
QUICK_TASKS = 400
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
PLAN = Plan(id="bench", title="Bench practice", courses=frozenset({"BENCH-1"}),
            competencies=(), spacing_days=(2, 7),
            tasks=("Practise one thing today, $learner_firstname.", "Practise it again."))
USERS_PER_CALL = 150


class _NewUser(ep.Params):
    username: str
    firstname: str
    lastname: str
    email: str
    createpassword: int = 1


class _CreateUsers(ep.Params):
    users: list[_NewUser]


CREATE_USERS = ep.Endpoint[object]("core_user_create_users", _CreateUsers, object)


def run(quick: bool = False) -> Report:
    """Run the benchmark (``quick``: 400 tasks, for a smoke test) and return its figures."""
    size = QUICK_TASKS if quick else FULL_TASKS
    report = Report("followup_dispatch", "Follow-up dispatch")
    report.settings = {
        "sandbox": f"blank site in its own process, {LATENCY_MS:g} ms latency per call",
        "dispatcher": f"{CONCURRENCY} workers, {BATCH} messages per send call, store in an "
                      "SQLite file, no stop-rule look-ups, no quiet hours",
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, \
            SandboxProcess(FaultConfig(latency_ms=LATENCY_MS)) as sandbox:
        settings = Settings(lms={"url": sandbox.url, "token": sandbox.admin_token,  # type: ignore[arg-type]
                                 "concurrency": CONCURRENCY})
        client = build_client(settings.lms)
        learners = _learners(client, size)
        engine = store.create_engine(f"sqlite:///{Path(tmp) / 'store.sqlite'}")
        try:
            store.migrate(engine)
            _due_tasks(engine, sandbox.url, learners)
            dispatcher = _dispatcher(engine, client, sandbox.url)
            calls, load = client.stats.calls, os.getloadavg()
            started, cpu = time.perf_counter(), time.process_time()
            sandbox_cpu = sandbox.cpu_seconds()
            sent = dispatcher.run()
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
            sandbox_after = sandbox.cpu_seconds()
            calls = client.stats.calls - calls
            left = _left(engine)
        finally:
            engine.dispose()
        messages, distinct = _messages(sandbox.url, sandbox.admin_token)
    _figures(report, size, sent, seconds, cpu_seconds, calls, messages, distinct, left)
    if sandbox_cpu is not None and sandbox_after is not None:
        report.notes.append(f"sandbox process: {sandbox_after - sandbox_cpu:.2f} s CPU during "
                            f"the dispatch, on the same {os.cpu_count()} CPUs")
    report.notes.append("load average before the dispatch (1, 5, 15 min): "
                        + ", ".join(f"{x:.2f}" for x in load))
    return report


def _figures(report: Report, size: int, sent: DispatchReport, seconds: float,
             cpu_seconds: float, calls: int, messages: int, distinct: int, left: int) -> None:
    case = f"{size:,}"
    sends = math.ceil(size / BATCH)
    limit = math.ceil(sends / CONCURRENCY) * LATENCY_MS / 1000
    report.add(Figure(case, "dispatch: time", seconds, limit, "s", TIME_TARGET))
    # Reported only: the same bound if every message were its own call (no batching).
    report.add(Figure(case, "dispatch: time vs one call a message", seconds,
                      size * LATENCY_MS / 1000 / CONCURRENCY, "s"))
    report.add(Figure(case, "messages in the sandbox", messages, size, "messages", 1.0))
    report.add(Figure(case, "duplicate messages", messages - distinct, 1, "messages", 0.0))
    report.add(Figure(case, "tasks not sent", left, 1, "tasks", 0.0))
    report.add(Figure(case, "send calls", calls, sends, "calls", 1.0))
    report.notes.append(
        f"{case}: sent {sent.sent:,} in {seconds:.2f} s ({sent.sent / seconds:,.0f} a second), "
        f"{calls} calls; {cpu_seconds:.2f} s CPU in the dispatcher process "
        f"({cpu_seconds / max(sent.sent, 1) * 1000:.2f} ms a task: claim, render, sign the "
        f"link, encode, mark sent, schedule the next task); deferred {sent.deferred}, "
        f"errors {len(sent.errors)}")


def _learners(client: MoodleClient, size: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, size, USERS_PER_CALL):
        users = [_NewUser(username=f"learner{n}", firstname=f"Learner{n}", lastname="Bench",
                          email=f"learner{n}@bench.example")
                 for n in range(start, min(size, start + USERS_PER_CALL))]
        created: Any = client.call(CREATE_USERS, _CreateUsers(users=users))
        ids.extend(int(row["id"]) for row in created)
    return ids


def _due_tasks(engine: Any, site: str, learners: list[int]) -> None:
    with store.session_scope(store.session_factory(engine)) as session:
        session.execute(insert(FollowupSequence), [
            {"id": n + 1, "site": site, "learner_id": learner, "learner_name": f"Learner{n}",
             "learner_firstname": f"Learner{n}", "learner_timezone": None, "course_id": 1,
             "course_shortname": "BENCH-1", "course_name": "Bench course", "competency": None,
             "competency_id": None, "competency_name": "", "plan_id": PLAN.id,
             "state": "active", "completed_at": NOW - timedelta(days=2), "card": None}
            for n, learner in enumerate(learners)])
        session.execute(insert(FollowupTask), [
            {"sequence_id": n + 1, "learner_id": learner, "task_index": 0, "attempt": 0,
             "text": f"Practise one thing today, Learner{n}.",
             "clientmsgid": f"sidecar-fu-{n + 1}-0-0", "due_at": NOW - timedelta(minutes=1),
             "status": "scheduled", "sends": 0}
            for n, learner in enumerate(learners)])


def _dispatcher(engine: Any, client: MoodleClient, site: str) -> Dispatcher:
    clock = ManualClock(NOW)
    signer = LinkSigner(SecretStr("bench link key"), clock, timedelta(days=30),
                        "https://sidecar.bench.example")
    coach_id = client.site_info().userid
    return Dispatcher(engine=engine, channel=MessageChannel(client, coach_id, signer.url, clock),
                      policy=Policy((PLAN,)), rules=Rules(site=site), clock=clock,
                      send=SendRules(quiet=None, daily_cap=1, batch_size=BATCH,
                                     workers=CONCURRENCY))


def _left(engine: Any) -> int:
    with store.session_scope(store.session_factory(engine)) as session:
        return len(list(session.scalars(select(FollowupTask.id).where(
            FollowupTask.task_index == 0, FollowupTask.status != "sent"))))


def _messages(url: str, token: str) -> tuple[int, int]:
    """Messages in the sandbox and distinct task references among them."""
    request = Request(f"{url}/_sandbox/dump",
                      headers={"Authorization": f"Bearer {token}"})
    with urlopen(request, timeout=120) as response:
        dump = json.loads(response.read())
    refs = [m["text"].rsplit("Ref: ", 1)[-1] for m in dump["messages"]]
    return len(refs), len(set(refs))
