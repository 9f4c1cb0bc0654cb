"""Webhook ingest benchmark: signed completion events through ``sidecar serve`` over loopback.

``sidecar serve`` (gunicorn, ``BENCH_WORKERS`` x ``BENCH_THREADS``; default 2 gthread workers
x 2 threads: two processes use both cores despite the GIL, threads keep connections alive, and
the store's writer turn queues the two processes' SQLite writes) runs in a child process with the
Standard Webhooks sender enabled. Distinct, correctly signed completions (unique
``webhook-id``, fresh timestamps, a distinct learner each, so none is a duplicate) are sent by
one of two load generators:

``wrk``     the requests are signed beforehand into a file, and ``wrk -t2 -c16`` walks it with
            ``bench/webhook_ingest.lua``, sending each exactly once; wrk (C, an event loop)
            needs a fraction of the CPU the server needs, so the figure is the service's.
``python``  8 Python client threads with keep-alive connections (the first generator; it burns
            about as much CPU as the server on the same two cores, so it measures itself too).

Throughput is answered requests over the time from the first request sent to the last answer;
latency is per request (wrk's histogram, or the client threads' clocks). Afterwards the inbox
rows are counted: every 2xx must be committed and nothing committed twice. Runs with the inbox
on SQLite (a file, WAL) and on PostgreSQL (a throwaway database on 127.0.0.1:5432, dropped
afterwards). Targets (SQLite, wrk): >= 1,000 events/s, p99 < 20 ms.

``python -m bench.webhook_ingest [--quick] [--generator wrk|python|both]
[--store sqlite|postgresql|both]``; wrk is installed from Debian's packages when missing.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Figure, Report

ROOT = Path(__file__).resolve().parent.parent
LUA_SCRIPT = Path(__file__).with_suffix(".lua")
# BENCH_WORKERS / BENCH_THREADS try other gunicorn shapes (e.g. 1 x 4).
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CLIENTS = 8  # python generator: client threads
WRK_THREADS = 2
WRK_CONNECTIONS = 16
WARM_UP = 200
SECRET = "whsec_" + base64.b64encode(b"bench-webhook-secret-0123456789").decode()
PG_ADMIN = os.environ.get("SIDECAR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

Signed = tuple[str, str, str, str]  # webhook-id, webhook-timestamp, webhook-signature, body


@dataclass(frozen=True)
class Sent:
    """What one generator run saw: answers, their latencies (ms), and how long it took."""

    answered: int
    ok: int
    accepted: int
    refused: int
    seconds: float
    p50_ms: float
    p99_ms: float
    detail: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(store_url: str, folder: Path) -> Iterator[tuple[int, int]]:
    """``sidecar serve`` on a free loopback port with the inbox at ``store_url``: the port and
    the process id of gunicorn's arbiter (its workers are its children)."""
    import store

    engine = store.create_engine(store_url)
    store.migrate(engine)  # before the workers start, so they do not race to migrate
    engine.dispose()
    port = _free_port()
    config = folder / "sidecar.yaml"
    config.write_text(
        "lms:\n  url: https://lms.example.org\n"
        f"store:\n  url: {json.dumps(store_url)}\n"
        "webhooks:\n  sidecar:\n    enabled: true\n"
        f"server:\n  host: 127.0.0.1\n  port: {port}\n  workers: {WORKERS}\n"
        f"  threads: {THREADS}\n")
    env = {**os.environ, "SIDECAR_LMS__TOKEN": "bench",
           "SIDECAR_WEBHOOKS__SIDECAR__SECRETS": SECRET}
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "--config", str(config), "serve"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sidecar serve did not start: "
                                   + (folder / "serve.log").read_text()[-2000:])
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _tree_times(pid: int) -> dict[int, tuple[float, float]]:
    """User and system CPU seconds used so far by process ``pid`` and by each of its children
    (Linux ``/proc``; nothing elsewhere): the server's own CPU, whatever else runs on the
    machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[float, float]] = {}
    try:
        names = [entry.name for entry in Path("/proc").iterdir()]
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(name) == pid or int(fields[1]) == pid:
            found[int(name)] = (int(fields[11]) / ticks, int(fields[12]) / ticks)
    return found


def _cpu_split(pid: int, before: dict[int, tuple[float, float]],
               after: dict[int, tuple[float, float]], requests: int) -> str:
    """Where the server's CPU went, in us a request: user and system time, and each worker's
    share (gunicorn keeps a connection on the worker that accepted it, so the 16 connections
    may be split unevenly: one worker busy, the other idle)."""
    def spent(key: int) -> tuple[float, float]:
        user, system = after[key]
        old_user, old_system = before.get(key, (0.0, 0.0))
        return user - old_user, system - old_system

    per = max(requests, 1) / 1e6
    user = sum(spent(key)[0] for key in after) / per
    system = sum(spent(key)[1] for key in after) / per
    workers = sorted((key for key in after if key != pid), key=lambda key: -sum(spent(key)))
    shares = " / ".join(f"{sum(spent(key)) / per:.0f}" for key in workers)
    return f"user {user:.0f} + system {system:.0f} us; by worker {shares} us"


def _healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


def _signed(count: int, first_user: int) -> list[Signed]:
    """``count`` distinct completions, each signed now: learners from ``first_user``."""
    from webhooks.client import completion_event, signed_headers

    moment = datetime.now(UTC)
    out = []
    for n in range(count):
        event = completion_event(courseid=1 + n % 50, userid=first_user + n, completed_at=moment)
        body = json.dumps(event, separators=(",", ":"))
        headers = signed_headers(SECRET, body)
        out.append((headers["webhook-id"], headers["webhook-timestamp"],
                    headers["webhook-signature"], body))
    return out


def _send_python(port: int, work: list[Signed]) -> Sent:
    latencies: list[float] = []
    answered = ok = accepted = 0
    lock = threading.Lock()
    chunks = [work[i::CLIENTS] for i in range(CLIENTS)]

    def client(chunk: list[Signed]) -> None:
        nonlocal answered, ok, accepted
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        good = new = 0
        for msg_id, stamp, signature, body in chunk:
            headers = {"webhook-id": msg_id, "webhook-timestamp": stamp,
                       "webhook-signature": signature, "content-type": "application/json"}
            started = time.perf_counter()
            connection.request("POST", "/webhooks/sidecar", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            mine.append(time.perf_counter() - started)
            if 200 <= response.status < 300:
                good += 1
                new += b'"status":"accepted"' in data
            if response.getheader("connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with lock:
            latencies.extend(mine)
            answered += len(chunk)
            ok += good
            accepted += new

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    return Sent(answered, ok, accepted, answered - ok, seconds,
                latencies[len(latencies) // 2] * 1000,
                latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
                f"{CLIENTS} Python client threads")


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's packages when missing (as make test installs
    chromium)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get did not install it")
    return found


def _send_wrk(port: int, work: list[Signed], folder: Path) -> Sent:
    requests_file = folder / "requests.tsv"
    requests_file.write_text("".join("\t".join(request) + "\n" for request in work))
    done_dir = Path(tempfile.mkdtemp(prefix="wrk-done-", dir=folder))
    command = [ensure_wrk(), f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", "-d120s",
               "--timeout", "10s", "--latency", "-s", str(LUA_SCRIPT),
               f"http://127.0.0.1:{port}", "--", str(requests_file), str(WRK_THREADS),
               str(done_dir)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)
    match = re.search(r"^RESULT (\{.*\})$", finished.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result: {finished.stdout}{finished.stderr}")
    result = json.loads(match.group(1))
    rows = [(done_dir / str(k)).read_text().split() for k in range(WRK_THREADS)]
    answered, ok, accepted, other = (sum(int(row[i]) for row in rows) for i in range(4))
    seconds = max(float(row[5]) for row in rows) - min(float(row[4]) for row in rows)
    errors = result["errors"]
    # every request was answered (or its thread would not have ended), so read errors and
    # timeouts are connections left idle after their thread's last request (see the script)
    if result["requests"] != len(work) or answered != len(work) or errors["status"] != other:
        raise RuntimeError(f"wrk sent {result['requests']} of {len(work)} requests, "
                           f"{answered} answered, errors {errors}")
    return Sent(answered, ok, accepted, other, seconds, result["p50_ms"], result["p99_ms"],
                f"wrk p90 {result['p90_ms']:.1f} ms, p99.9 {result['p999_ms']:.1f} ms, "
                f"max {result['max_ms']:.1f} ms; idle connections closed or timed out: "
                f"{errors['read'] + errors['timeout']}")


def _inbox(store_url: str) -> tuple[int, int]:
    """Inbox rows, and distinct webhook ids among them."""
    from sqlalchemy import distinct, func, select

    import store
    from store.models import InboxEvent

    engine = store.create_engine(store_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(select(func.count(),
                                            func.count(distinct(InboxEvent.event_id)))).one()
            return int(row[0]), int(row[1])
    finally:
        engine.dispose()


def _measure(report: Report, case: str, store_url: str, generator: str, events: int,
             gate: bool, folder: Path) -> None:
    with _serve(store_url, folder) as (port, pid):
        _send_python(port, _signed(WARM_UP, 10_000_000))  # connections, imports, caches
        work = _signed(events, 1)  # learner ids from 1: id 0 is refused as malformed
        times_before = _tree_times(pid)
        sent = (_send_wrk(port, work, folder) if generator == "wrk"
                else _send_python(port, work))
        times_after = _tree_times(pid)
        server_cpu = (sum(u + s for u, s in times_after.values())
                      - sum(u + s for u, s in times_before.values()))
        split = _cpu_split(pid, times_before, times_after, sent.answered)
    rows, distinct_ids = _inbox(store_url)
    committed = rows - WARM_UP
    rate = sent.ok / sent.seconds
    report.add(Figure(case, "throughput (limit: minimum)", 1000 / rate * 1000, 1000,
                      "ms per 1k events", 1.0 if gate else None))
    report.add(Figure(case, "events/s", rate, 1000, "events/s"))
    report.add(Figure(case, "p50 latency", sent.p50_ms, 20, "ms"))
    report.add(Figure(case, "p99 latency", sent.p99_ms, 20, "ms", 1.0 if gate else None))
    report.add(Figure(case, "2xx not committed", max(0, sent.ok - committed), 1, "events", 0.0))
    report.add(Figure(case, "rows beyond the 2xx (duplicates)", max(0, rows - distinct_ids)
                      + max(0, committed - sent.ok), 1, "rows", 0.0))
    report.notes.append(
        f"{case}: {sent.answered} sent, {sent.ok} answered 2xx ({sent.accepted} accepted as "
        f"new), {sent.refused} refused; {committed} committed, {distinct_ids - WARM_UP} "
        f"distinct webhook ids; {sent.seconds:.2f} s; server CPU {server_cpu:.2f} s "
        f"({server_cpu / max(sent.answered, 1) * 1e6:.0f} us a request, workers and arbiter: "
        f"{split}); {sent.detail}")


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


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(quick: bool = False, generators: tuple[str, ...] = ("wrk", "python"),
        stores: tuple[str, ...] = ("sqlite", "postgresql")) -> Report:
    """Measure ingest with each generator on SQLite (gated with wrk) and PostgreSQL."""
    events = 2_000 if quick else 10_000
    report = Report("webhook_ingest", "Webhook ingest through sidecar serve")
    shape = "sync" if THREADS == 1 else "gthread"
    report.settings.update({
        "server": f"sidecar serve: gunicorn {shape}, {WORKERS} worker(s) x {THREADS} thread(s)",
        "generators": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} (each request once); "
                      f"python: {CLIENTS} client threads, keep-alive",
        "events": f"{events:,} per case (+{WARM_UP} warm-up)", "cpus": str(os.cpu_count()),
        "load average before": _load()})
    for generator in generators:
        for kind in stores:
            case = f"{kind}, {generator}"
            with tempfile.TemporaryDirectory() as name:
                folder = Path(name)
                if kind == "sqlite":
                    _measure(report, case, f"sqlite:///{folder}/inbox.sqlite", generator,
                             events, gate=generator == "wrk", folder=folder)
                else:
                    with _postgres() as url:
                        _measure(report, case, url, generator, events, gate=False,
                                 folder=folder)
    report.settings["load average after"] = _load()
    return report


def _choices(value: str, every: tuple[str, ...]) -> tuple[str, ...]:
    return every if value == "both" else (value,)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_ingest")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--generator", choices=["wrk", "python", "both"], default="both")
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(run(args.quick, _choices(args.generator, ("wrk", "python")),
              _choices(args.store, ("sqlite", "postgresql"))).render())
