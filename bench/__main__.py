"""``python -m bench [--only NAME] [--quick]``: run the registered benchmarks, print the figures.

Exit codes: 0 every target met, 1 a target missed (a release gate), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from bench import BENCHMARKS, Benchmark
from bench.report import Report


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run lms-sidecar's benchmarks and print each figure beside its limit. "
                    "Exit code 1 when a target is missed.",
        epilog="benchmarks: " + "; ".join(f"{b.name}: {b.summary}" for b in BENCHMARKS))
    parser.add_argument("--only", action="append", choices=names, metavar="NAME",
                        help=f"run only this benchmark (repeatable); one of {', '.join(names)}")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, for a smoke test (targets still checked)")
    return parser.parse_args(argv)


def selected(only: Sequence[str] | None) -> list[Benchmark]:
    return [b for b in BENCHMARKS if not only or b.name in only]


def run_benchmark(benchmark: Benchmark, *, quick: bool) -> Report:
    """Import the benchmark's module and run it, with the heap as the ``sidecar`` command
    leaves it at start-up: every command imported, then frozen
    (:func:`sidecar.cli.freeze_imports`)."""
    module = importlib.import_module(benchmark.module)
    from sidecar.cli import freeze_imports

    freeze_imports()
    report: Report = module.run(quick=quick)
    return report


def machine() -> str:
    return (f"{platform.node() or 'host'}: {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()} on {platform.system()} {platform.release()}; "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"lms-sidecar benchmarks{' (quick)' if args.quick else ''}: {machine()}", flush=True)
    missed: list[str] = []
    for benchmark in selected(args.only):
        report = run_benchmark(benchmark, quick=args.quick)
        print(report.render(), flush=True)
        missed += [f"{report.name}: {f.case} {f.measure} ({f.ratio:.2f} > {f.target})"
                   for f in report.missed]
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed), file=sys.stderr)
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
