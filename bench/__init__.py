"""Benchmarks of lms-sidecar, run with ``make bench`` (``python -m bench``); never by ``make test``.

Each benchmark is a module with ``run(quick: bool) -> Report`` (see :mod:`bench.report`).
``BENCHMARKS`` is the one registry: add a module here and ``python -m bench`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    """One registered benchmark: its name for ``--only``, its module, what it measures."""

    name: str
    module: str
    summary: str


BENCHMARKS: list[Benchmark] = [
    Benchmark("framework_sync", "bench.framework_sync",
              "competency framework sync against the sandbox with injected latency"),
    Benchmark("suggestions", "bench.suggestions",
              "skills-map suggestion quality (precision@1, precision@3, recall) on labels"),
    Benchmark("webhook_ingest", "bench.webhook_ingest",
              "signed completion webhooks through gunicorn into the inbox, SQLite and PostgreSQL"),
    Benchmark("followup_dispatch", "bench.followup_dispatch",
              "10,000 due follow-up tasks sent to the sandbox with latency; 0 duplicates"),
    Benchmark("goals_sync", "bench.goals_sync",
              "10,000 goals as learning plans against the sandbox with injected latency"),
]
