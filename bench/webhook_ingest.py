"""Webhook ingest benchmark: signed completion events through the real WSGI app and HTTP.

``sidecar serve``'s app (``create_app``) runs under gunicorn (2 workers x 4 threads, as on this
2-core machine) in a child process; the bench sends Standard Webhooks-signed completions from 8
client threads over loopback, each a distinct learner, and measures throughput and per-request
latency (p50, p99). Afterwards it counts the inbox rows: every event answered 2xx must be
committed. Runs with the inbox on SQLite (a file, WAL) and on PostgreSQL (a throwaway database
on 127.0.0.1:5432, dropped afterwards). Targets: >= 1,000 events/s on SQLite, p99 < 20 ms.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Figure, Report

# BENCH_WORKERS / BENCH_THREADS try other gunicorn shapes (e.g. 1 x 8 for SQLite).
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
CLIENTS = 8
SECRET = "whsec_" + base64.b64encode(b"bench-webhook-secret-0123456789").decode()
PG_ADMIN = os.environ.get("SIDECAR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_app():  # pragma: no cover - runs inside gunicorn
    """The gunicorn entry point: the sidecar app with only the Standard Webhooks sender on."""
    from config import Settings
    from sidecar.app import create_app

    settings = Settings(  # type: ignore[call-arg]
        lms={"url": "https://lms.example.org", "token": "bench"},
        store={"url": os.environ["BENCH_STORE_URL"]},
        webhooks={"sidecar": {"enabled": True, "secrets": SECRET}})
    return create_app(settings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(store_url: str) -> Iterator[int]:
    import store

    engine = store.create_engine(store_url)
    store.migrate(engine)  # before the workers start, so they do not race to migrate
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "BENCH_STORE_URL": store_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
         str(WORKERS), "--threads", str(THREADS), "--worker-class", "gthread",
         "--log-level", "warning", "bench.webhook_ingest:make_app()"],
        env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start within 30 s")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _bodies(count: int, offset: int) -> list[tuple[str, dict[str, str]]]:
    from webhooks.client import completion_event, signed_headers

    moment = datetime.now(UTC)
    out = []
    for n in range(count):
        body = json.dumps(completion_event(courseid=8, userid=offset + n, completed_at=moment))
        out.append((body, signed_headers(SECRET, body)))
    return out


def _send(port: int, work: list[tuple[str, dict[str, str]]]) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    accepted = failed = 0
    lock = threading.Lock()
    chunks = [work[i::CLIENTS] for i in range(CLIENTS)]

    def client(chunk: list[tuple[str, dict[str, str]]]) -> None:
        nonlocal accepted, failed
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        ok = bad = 0
        for body, headers in chunk:
            started = time.perf_counter()
            connection.request("POST", "/webhooks/sidecar", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status == 200:
                ok += 1
            else:
                bad += 1
            if response.getheader("connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with lock:
            latencies.extend(mine)
            accepted += ok
            failed += bad

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, accepted, failed


def _committed(store_url: str) -> int:
    from sqlalchemy import func, select

    import store
    from store.models import InboxEvent

    engine = store.create_engine(store_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(InboxEvent)) or 0)
    finally:
        engine.dispose()


def _measure(report: Report, case: str, store_url: str, events: int, gate: bool) -> None:
    with _server(store_url) as port:
        _send(port, _bodies(200, 10_000_000))  # warm-up: connections, imports, caches
        work = _bodies(events, 1)  # learner ids from 1: id 0 is refused as malformed
        started = time.perf_counter()
        latencies, accepted, failed = _send(port, work)
        seconds = time.perf_counter() - started
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    rate = accepted / seconds
    committed = _committed(store_url) - 200
    report.add(Figure(case, "throughput (limit: minimum)", 1000 / rate * 1000, 1000,
                      "ms per 1k events", 1.0 if gate else None))
    report.add(Figure(case, "events/s", rate, 1000, "events/s"))
    report.add(Figure(case, "p50 latency", p50, 20, "ms"))
    report.add(Figure(case, "p99 latency", p99, 20, "ms", 1.0 if gate else None))
    report.add(Figure(case, "2xx not committed", accepted - committed, 1, "events", 0.0))
    report.notes.append(f"{case}: {accepted} accepted, {failed} refused, {committed} "
                        f"committed in {seconds:.2f} s")


@contextmanager
def _postgres() -> Iterator[str]:
    import psycopg
    from sqlalchemy import make_url

    admin = make_url(PG_ADMIN)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"bench_webhooks_{secrets.token_hex(4)}"
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(quick: bool = False) -> Report:
    """Measure ingest on SQLite (gated) and PostgreSQL (reported)."""
    events = 2_000 if quick else 10_000
    report = Report("webhook_ingest", "Webhook ingest through the WSGI app")
    report.settings.update({
        "server": f"gunicorn gthread, {WORKERS} workers x {THREADS} threads",
        "clients": f"{CLIENTS} threads, keep-alive, loopback", "events": f"{events:,}",
        "cpus": str(os.cpu_count())})
    with tempfile.TemporaryDirectory() as folder:
        _measure(report, "sqlite", f"sqlite:///{folder}/inbox.sqlite", events, gate=True)
    with _postgres() as url:
        _measure(report, "postgresql", url, events, gate=False)
    return report


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv).render())
