"""The follow-up dispatch benchmark's quick mode, end to end once: every task sent, none twice.

Only counts are asserted here; the speed target stays in the benchmark (`make bench`).
"""

from __future__ import annotations

import re

import pytest

from bench import BENCHMARKS
from bench.__main__ import run_benchmark, selected
from bench.report import Report


@pytest.fixture(scope="module")
def report() -> Report:
    (benchmark,) = selected(["followup_dispatch"])
    return run_benchmark(benchmark, quick=True)


def test_every_task_is_sent_once(report: Report) -> None:
    for measure in ("messages in the sandbox", "duplicate messages", "tasks not sent",
                    "send calls"):
        figure = report.find("400", measure)
        assert figure.met, (measure, figure.value, figure.limit)


def test_the_time_is_printed_beside_its_limit_as_a_ratio(report: Report) -> None:
    assert re.search(r"dispatch: time\s+\S+ s\s+\S+ s\s+\d+\.\d\d\s", report.render())


def test_it_is_registered() -> None:
    assert "followup_dispatch" in [b.name for b in BENCHMARKS]
