"""The benchmark's quick mode, end to end once: it must keep running and keep its promises.

Only call counts are asserted here; the speed targets stay in the benchmark (`make bench`),
never in timed tests.
"""

from __future__ import annotations

import re

import pytest

from bench import BENCHMARKS
from bench.__main__ import main, parse_args, run_benchmark, selected
from bench.report import Report


@pytest.fixture(scope="module")
def report() -> Report:
    (benchmark,) = selected(["framework_sync"])
    return run_benchmark(benchmark, quick=True)


def test_report_prints_every_figure_beside_its_limit_as_a_ratio(report: Report) -> None:
    text = report.render()
    for measure in ("initial push: calls", "initial push: time", "no-op re-sync: calls",
                    "no-op re-sync: time", "10 changes: calls", "10 changes: time",
                    "plan vs empty Moodle: peak memory", "plan vs identical Moodle: peak memory"):
        assert re.search(rf"{re.escape(measure)}\s+\S+ \w+\s+\S+ \w+\s+\d+\.\d\d\s", text), measure


def test_noop_resync_costs_at_most_two_calls(report: Report) -> None:
    noop = report.find("250", "no-op re-sync: calls")
    assert noop.value <= 2
    assert noop.met


def test_call_counts_stay_within_their_limits(report: Report) -> None:
    for measure in ("initial push: calls", "10 changes: calls"):
        figure = report.find("250", measure)
        assert figure.met, (measure, figure.value, figure.limit)
    assert "NOT CONVERGED" not in report.render()


def test_registry_names_are_unique_and_selectable() -> None:
    names = [b.name for b in BENCHMARKS]
    assert len(names) == len(set(names))
    assert [b.name for b in selected(["framework_sync"])] == ["framework_sync"]
    assert parse_args(["--quick", "--only", "framework_sync"]).quick


def test_unknown_benchmark_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "no_such_benchmark"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
