"""Framework sync benchmark: API calls, wall time and planning memory, each beside its limit.

For each size (1,000 and 5,000 competencies in 4 levels, see :mod:`bench.synthetic`), against
a blank sandbox site with injected latency, with the real client over HTTP:

- initial push: calls <= N + 3 (N competency writes, the framework's create, the framework
  list and a tree read); time within 1.3 x of N x latency / concurrency + depth x latency;
- no-op re-sync: calls <= 2 (the framework list and the framework's tree);
- k changes (half renames, half moves): calls <= k + 2 (k writes and the same two reads).

Then peak memory (tracemalloc: Python allocations during planning only, inputs built before)
for planning a 50,000-competency framework against an empty Moodle and an identical one,
target under 200 MB. A sync here is what ``FrameworkSync.apply`` does minus reading source
files: read Moodle, plan, apply with the journal in an SQLite file store.
"""

from __future__ import annotations

import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import store
from bench import synthetic
from bench.report import Figure, Report
from bench.sandbox import SandboxProcess
from config import Settings
from connector.moodle.client import MoodleClient
from connector.sandbox import FaultConfig
from sidecar.wiring import build_client
from sync.actual import read_frameworks
from sync.apply import Applier
from sync.model import Framework
from sync.plan import Plan
from sync.planner import plan_frameworks

LATENCY_MS = 20.0
CONCURRENCY = 8
CHANGES = 10
TIME_TARGET = 1.3
MEMORY_LIMIT_MB = 200.0
INITIAL_EXTRA_CALLS = 3  # the framework's create, the framework list, one tree read
SYNC_READS = 2  # the framework list, then one list call for the framework's tree


@dataclass(frozen=True)
class Sizes:
    sync: tuple[int, ...]
    memory: int


FULL = Sizes(sync=(1_000, 5_000), memory=50_000)
QUICK = Sizes(sync=(250,), memory=5_000)


@dataclass(frozen=True)
class Measured:
    """One sync: the calls it made, how long it took, and what it planned."""

    calls: int
    seconds: float
    cpu_seconds: float
    writes: int
    plan_seconds: float
    full_collections: list[float]  # seconds of each generation-2 garbage collection


class SyncRunner:
    """Read Moodle, plan and apply one framework, counting calls and time."""

    def __init__(self, client: MoodleClient, store_url: str, site: str) -> None:
        self.client = client
        self.engine = store.create_engine(store_url)
        store.migrate(self.engine)
        self.sessions = store.session_factory(self.engine)
        self.site = site

    def sync(self, fw: Framework) -> Measured:
        """One sync of ``fw``. Raises RuntimeError if a step fails."""
        with _full_collections() as pauses:
            return self._sync(fw, pauses)

    def _sync(self, fw: Framework, pauses: list[float]) -> Measured:
        calls, started, cpu = self.client.stats.calls, time.perf_counter(), time.process_time()
        actual = read_frameworks(self.client, [fw.idnumber])
        planned = time.perf_counter()
        plan = plan_frameworks([fw], actual, site=self.site)
        plan_seconds = time.perf_counter() - planned
        if not plan.is_empty:
            result = Applier(self.client, self.sessions, self.site).apply(plan, actual,
                                                                          trigger="cli")
            if not result.ok:
                raise RuntimeError(f"{len(result.failed)} step(s) failed, first: "
                                   f"{result.failed[0].op.op_id}: {result.failed[0].detail}")
        return Measured(self.client.stats.calls - calls, time.perf_counter() - started,
                        time.process_time() - cpu, len(plan.changes), plan_seconds, pauses)

    def pending(self, fw: Framework) -> Plan:
        """What a sync of ``fw`` would still do (not counted in any figure)."""
        return plan_frameworks([fw], read_frameworks(self.client, [fw.idnumber]), site=self.site)

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def _full_collections() -> Iterator[list[float]]:
    """The duration of every generation-2 garbage collection while the block runs."""
    pauses: list[float] = []
    began = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - began[0])

    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)


def run(quick: bool = False) -> Report:
    """Run the benchmark (``quick``: small sizes, for a smoke test) and return its figures."""
    sizes = QUICK if quick else FULL
    report = Report("framework_sync", "Competency framework sync")
    report.settings = {
        "sandbox": f"blank site in its own process, {LATENCY_MS:g} ms latency per call",
        "client": f"concurrency {CONCURRENCY}, JSON, journal in an SQLite file store",
        "frameworks": f"4 levels, branching {synthetic.BRANCHING} under each top-level area",
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for size in sizes.sync:
            _sync_figures(report, size, Path(tmp) / f"store-{size}.sqlite")
    _memory_figures(report, sizes.memory)
    return report


def _sync_figures(report: Report, size: int, store_path: Path) -> None:
    latency = LATENCY_MS / 1000
    fw = synthetic.synthetic_framework(size)
    changed, k = synthetic.with_changes(fw, CHANGES)
    case = f"{size:,}"
    with SandboxProcess(FaultConfig(latency_ms=LATENCY_MS)) as sandbox:
        settings = Settings(lms={"url": sandbox.url, "token": sandbox.admin_token,  # type: ignore[arg-type]
                                 "concurrency": CONCURRENCY})
        runner = SyncRunner(build_client(settings.lms), f"sqlite:///{store_path}", sandbox.url)
        try:
            sandbox_before = sandbox.cpu_seconds()
            initial = runner.sync(fw)
            sandbox_after = sandbox.cpu_seconds()
            noop = runner.sync(fw)
            edits = runner.sync(changed)
            left = runner.pending(changed)
        finally:
            runner.close()
    time_limit = size * latency / CONCURRENCY + synthetic.DEPTH * latency
    report.add(Figure(case, "initial push: calls", initial.calls, size + INITIAL_EXTRA_CALLS,
                      "calls", 1.0))
    report.add(Figure(case, "initial push: time", initial.seconds, time_limit, "s", TIME_TARGET))
    report.add(Figure(case, "no-op re-sync: calls", noop.calls, SYNC_READS, "calls", 1.0))
    report.add(Figure(case, "no-op re-sync: time", noop.seconds, SYNC_READS * latency, "s"))
    report.add(Figure(case, f"{k} changes: calls", edits.calls, k + SYNC_READS, "calls", 1.0))
    # Moves run one at a time (set-parent order matters); renames share one stage.
    serial = SYNC_READS + k // 2 + -(-(k - k // 2) // CONCURRENCY)
    report.add(Figure(case, f"{k} changes: time", edits.seconds, serial * latency, "s"))
    report.notes.append(
        f"{case}: initial push {initial.writes:,} writes, {initial.seconds:.2f} s wall, "
        f"{initial.cpu_seconds:.2f} s CPU in the client process "
        f"({initial.cpu_seconds / max(initial.calls, 1) * 1000:.2f} ms a call; the budget at "
        f"full concurrency is {LATENCY_MS / CONCURRENCY:.2f} ms); planning "
        f"{initial.plan_seconds:.3f} s, no-op planning {noop.plan_seconds:.3f} s; full "
        f"garbage collections in the push: {len(initial.full_collections)} "
        f"({sum(initial.full_collections) * 1000:.0f} ms)"
        + (f"; the sandbox used {sandbox_after - sandbox_before:.2f} s CPU "
           f"({(sandbox_after - sandbox_before) / max(initial.calls, 1) * 1000:.2f} ms a call) "
           "on the same 2 CPUs" if sandbox_before is not None and sandbox_after is not None
           else ""))
    if not left.is_empty:
        report.notes.append(f"{case}: NOT CONVERGED, {len(left.changes)} change(s) left after "
                            "the k-change sync")
        report.add(Figure(case, "changes left after sync", len(left.changes), 1, "calls", 0.0))


def _memory_figures(report: Report, size: int) -> None:
    fw = synthetic.synthetic_framework(size)
    current = synthetic.held(fw)
    case = f"{size:,}"
    for label, actual in (("empty Moodle", None), ("identical Moodle", current)):
        peak, seconds, plan = _peak(partial(plan_frameworks, [fw], {fw.idnumber: actual},
                                            site="bench"))
        report.add(Figure(case, f"plan vs {label}: peak memory", peak, MEMORY_LIMIT_MB, "MB",
                          1.0))
        report.notes.append(f"{case}: plan vs {label}: {len(plan.changes):,} changes in "
                            f"{seconds:.2f} s (under tracemalloc)")


def _peak(work: Callable[[], Plan]) -> tuple[float, float, Plan]:
    """Peak Python memory (MB, tracemalloc) and seconds of ``work``."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        plan = work()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20, seconds, plan
