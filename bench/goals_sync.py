"""Goals sync benchmark: 10,000 goals of 3 competencies each, calls and time beside the limit.

Against a blank sandbox site in its own process with injected latency, with the real client
over HTTP: 5,000 employees with two goals each, 250 managers, a 250-competency framework.
The setup (framework, users) runs without latency; then, with latency:

- first apply: calls <= the minimum the web services allow: the user lookups (batched), the
  framework list and tree, one ``list_user_plans`` per employee (the store knows no plan yet),
  one create per goal, one add per competency, one role call per 100 manager pairs;
  time within 1.3 x of calls x latency / concurrency;
- no-op re-sync: calls <= the lookups, one ``list_user_plans`` per employee (two remembered
  goals each: one list is cheaper than two reads) and one ``list_plan_competencies`` per plan;
  zero writes;
- k changes (half the goals retitled, half with one competency swapped): the same reads plus
  one write per field update, two per swap.

A sync is what ``GoalSync.apply`` does: read the export, Moodle and the store, plan, apply
with the journal in an SQLite file store.
"""

from __future__ import annotations

import csv
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

import store
from bench import synthetic
from bench.framework_sync import SyncRunner
from bench.report import Figure, Report
from bench.sandbox import SandboxProcess
from config import Settings
from connector.moodle import endpoints as ep
from connector.moodle.client import MoodleClient
from connector.sandbox import FaultConfig
from sidecar.wiring import build_client
from sync.goals import GoalOptions, GoalSync
from sync.goals.moodle import moodle_goal_sync
from sync.goals.planner import ROLE_BATCH

LATENCY_MS = 20.0
CONCURRENCY = 8
TIME_TARGET = 1.3
GOALS_PER_EMPLOYEE = 2
COMPETENCIES_PER_GOAL = 3
EMPLOYEES_PER_MANAGER = 20
CHANGES = 100
USER_BATCH = 100
ROLE_ID = 9  # the sandbox's line-manager role, assignable in the user context
FRAMEWORK_SIZE = 250


@dataclass(frozen=True)
class Sizes:
    goals: int


FULL = Sizes(goals=10_000)
QUICK = Sizes(goals=400)


class _NewUser(ep.Params):
    username: str
    firstname: str
    lastname: str
    email: str
    idnumber: str
    createpassword: int = 1


class _CreateUsers(ep.Params):
    users: list[_NewUser]


# Only the benchmark's setup creates users (lms-sidecar itself never does).
_CREATE_USERS = ep.Endpoint[object]("core_user_create_users", _CreateUsers, object,
                                    idempotent=False)


@dataclass(frozen=True)
class Measured:
    calls: int
    seconds: float
    writes: int


def run(quick: bool = False) -> Report:
    """Run the benchmark (``quick``: 400 goals) and return its figures."""
    sizes = QUICK if quick else FULL
    report = Report("goals_sync", "Goals as learning plans")
    report.settings = {
        "sandbox": f"blank site in its own process, {LATENCY_MS:g} ms latency per call",
        "client": f"concurrency {CONCURRENCY}, JSON, journal in an SQLite file store",
        "goals": f"{sizes.goals:,} goals of {COMPETENCIES_PER_GOAL} competencies, "
                 f"{GOALS_PER_EMPLOYEE} per employee, {EMPLOYEES_PER_MANAGER} employees per "
                 "manager",
    }
    with tempfile.TemporaryDirectory(prefix="bench-goals-") as tmp:
        _figures(report, sizes.goals, Path(tmp))
    return report


def _faults(sandbox: SandboxProcess, latency_ms: float) -> None:
    requests.put(f"{sandbox.url}/_sandbox/faults", json={"latency_ms": latency_ms},
                 headers={"Authorization": f"Bearer {sandbox.admin_token}"},
                 timeout=30).raise_for_status()


def _setup(client: MoodleClient, site: str, goals: int, tmp: Path) -> list[str]:
    """Framework and users, without latency; returns the leaf competency idnumbers."""
    fw = synthetic.synthetic_framework(FRAMEWORK_SIZE)
    runner = SyncRunner(client, f"sqlite:///{tmp / 'frameworks.sqlite'}", site)
    try:
        runner.sync(fw)
    finally:
        runner.close()
    employees = goals // GOALS_PER_EMPLOYEE
    managers = max(1, employees // EMPLOYEES_PER_MANAGER)
    people = [(f"emp{n:05d}", "Employee") for n in range(employees)]
    people += [(f"mgr{n:04d}", "Manager") for n in range(managers)]
    batches = [people[i:i + USER_BATCH] for i in range(0, len(people), USER_BATCH)]
    client.map(_CREATE_USERS, [_CreateUsers(users=[_NewUser(
        username=name, firstname=kind, lastname=name, email=f"{name}@bench.example",
        idnumber=name.upper()) for name, kind in batch]) for batch in batches])
    return [c.idnumber for c in fw.competencies if c.idnumber.count(".") == 3]


def _export(path: Path, goals: int, leaves: list[str], changed: int = 0) -> None:
    """``goals`` goals; the first ``changed`` differ: half retitled, half one competency
    swapped."""
    managers = max(1, goals // GOALS_PER_EMPLOYEE // EMPLOYEES_PER_MANAGER)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["goal_id", "employee", "title", "description", "start_date",
                         "due_date", "status", "manager", "competencies"])
        for n in range(goals):
            employee = n // GOALS_PER_EMPLOYEE
            comps = [leaves[(n * COMPETENCIES_PER_GOAL + i) % len(leaves)]
                     for i in range(COMPETENCIES_PER_GOAL)]
            title = f"Goal {n} of employee {employee}"
            if n < changed // 2:
                title += " (revised)"
            elif n < changed:
                comps[-1] = leaves[(n * COMPETENCIES_PER_GOAL + 7) % len(leaves)]
            writer.writerow([f"G{n:06d}", f"emp{employee:05d}@bench.example", title,
                             "Benchmark goal.", "2026-01-01", "2030-12-31", "active",
                             f"mgr{employee // EMPLOYEES_PER_MANAGER % managers:04d}"
                             "@bench.example", ";".join(comps)])


def _sync(job: GoalSync) -> Measured:
    calls, started = job.stats.calls, time.perf_counter()
    applied = job.apply(trigger="cli")
    if not applied.result.ok:
        first = applied.result.failed[0]
        raise RuntimeError(f"{len(applied.result.failed)} step(s) failed, first: "
                           f"{first.op.op_id}: {first.detail}")
    return Measured(job.stats.calls - calls, time.perf_counter() - started,
                    len(applied.plan.changes))


def _figures(report: Report, goals: int, tmp: Path) -> None:
    latency = LATENCY_MS / 1000
    employees = goals // GOALS_PER_EMPLOYEE
    managers = max(1, employees // EMPLOYEES_PER_MANAGER)
    export = tmp / "goals.csv"
    with SandboxProcess(FaultConfig()) as sandbox:
        settings = Settings(lms={"url": sandbox.url, "token": sandbox.admin_token,  # type: ignore[arg-type]
                                 "concurrency": CONCURRENCY})
        client = build_client(settings.lms)
        leaves = _setup(client, sandbox.url, goals, tmp)
        _export(export, goals, leaves)
        engine = store.create_engine(f"sqlite:///{tmp / 'goals.sqlite'}")
        store.migrate(engine)
        job = moodle_goal_sync(client, engine, sandbox.url, (export,),
                               options=GoalOptions(manager_role=ROLE_ID), employee_key="email",
                               manager_key="email")
        _faults(sandbox, LATENCY_MS)
        try:
            first = _sync(job)
            noop = _sync(job)
            _export(export, goals, leaves, CHANGES)
            edits = _sync(job)
            left = job.plan()
        finally:
            engine.dispose()
    lookups = math.ceil(employees / 990) + math.ceil(managers / 990) + 2  # users; frameworks
    first_limit = lookups + employees + goals * (1 + COMPETENCIES_PER_GOAL) + math.ceil(
        employees / ROLE_BATCH)
    reads = lookups + employees + goals
    edit_writes = CHANGES // 2 + 2 * (CHANGES - CHANGES // 2)
    case = f"{goals:,}"
    for label, measured, limit in (("first apply", first, first_limit),
                                   ("no-op re-sync", noop, reads),
                                   (f"{CHANGES} changed goals", edits, reads + edit_writes)):
        report.add(Figure(case, f"{label}: calls", measured.calls, limit, "calls", 1.0))
        report.add(Figure(case, f"{label}: time", measured.seconds,
                          limit * latency / CONCURRENCY, "s", TIME_TARGET))
        report.notes.append(f"{case}: {label}: {measured.writes:,} writes, "
                            f"{measured.calls:,} calls in {measured.seconds:.1f} s")
    if not left.is_empty:
        report.notes.append(f"{case}: NOT CONVERGED, {len(left.changes)} change(s) left")
        report.add(Figure(case, "changes left after sync", len(left.changes), 1, "calls", 0.0))
