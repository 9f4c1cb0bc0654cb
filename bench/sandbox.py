"""The sandbox LMS in its own process, so that its work is not charged to the code measured.

A real Moodle runs on another machine. :class:`connector.sandbox.SandboxServer` runs in a
thread of the calling process, where the sandbox's own request handling (Flask, SQLite,
JSON, about 1 ms of CPU a call) would compete for the interpreter lock with the client
and the applier and be counted as theirs. Here the same server runs in a child process
(``spawn``, so no threads are copied by a fork).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from connector.sandbox import FaultConfig, SandboxServer

START_TIMEOUT = 30.0


def _serve(conn: Connection, faults: dict[str, Any]) -> None:
    """Child process: run a blank sandbox until the parent says stop (or goes away)."""
    with SandboxServer(seed=False, faults=FaultConfig.from_dict(faults)) as sandbox:
        conn.send((sandbox.url, sandbox.admin_token))
        with contextlib.suppress(EOFError):
            conn.recv()


class SandboxProcess:
    """A blank sandbox site with ``faults`` in a child process: ``url`` and ``admin_token``."""

    def __init__(self, faults: FaultConfig) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, faults.to_dict()),
                                        name="bench-sandbox", daemon=True)
        self.url = ""
        self.admin_token = ""

    def start(self) -> SandboxProcess:
        """Start the child and wait for its address. Raises RuntimeError if it never answers."""
        self._process.start()
        try:
            if not self._conn.poll(START_TIMEOUT):
                raise EOFError
            self.url, self.admin_token = self._conn.recv()
        except EOFError:
            self._process.kill()
            raise RuntimeError("the sandbox process did not start (see its traceback above)"
                               ) from None
        return self

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the sandbox process has used so far; None where
        ``/proc`` cannot tell (not Linux, or the process is gone)."""
        try:
            stat = Path(f"/proc/{self._process.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after the command name: state is first
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send("stop")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
