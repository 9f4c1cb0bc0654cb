"""Run the sandbox in-process on a free loopback port (for tests and the demo)."""

from __future__ import annotations

import io
import threading
from types import TracebackType
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.sandbox.app import create_app, state_of
from connector.sandbox.state import SandboxState


class QuietRequestHandler(WSGIRequestHandler):
    """No access log: request lines could carry a token in a query string. HTTP/1.1 with
    connections kept alive between calls, as a real Moodle behind Apache or nginx does.

    werkzeug's handler closes every connection (it cannot tell where an unread request body
    ends), so each call paid a new TCP connection and a new server thread. Here a request
    whose body has a ``Content-Length`` (or that has no body) is read whole before the app
    runs, so the stream is at the next request line whatever the app reads, and the
    connection stays open; a chunked request still closes it, as before.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave as two writes: no 40 ms ACK wait
    _keep_alive = False

    def run_wsgi(self) -> None:
        """Run the app on a body read in full beforehand, then keep the connection open."""
        socket_file = self.rfile
        length = self.headers.get("Content-Length", "0") or "0"
        self._keep_alive = ("chunked" not in self.headers.get("Transfer-Encoding", "").lower()
                            and length.isdigit())
        if self._keep_alive:
            # werkzeug drains "the rest of the body" from rfile after the answer: from this
            # buffer, never from the socket, where the next request may already be waiting
            self.rfile = io.BytesIO(socket_file.read(int(length)))
        try:
            super().run_wsgi()
        finally:
            self.rfile = socket_file

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep_alive and keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SandboxServer:
    """A sandbox app served by werkzeug on 127.0.0.1 in a background thread.

    ``with SandboxServer(seed=False) as sandbox: requests.post(sandbox.rest_url, ...)``.
    Keyword arguments go to :func:`connector.sandbox.app.create_app`.
    """

    def __init__(self, port: int = 0, app: Flask | None = None, **options: Any) -> None:
        self.app = app or create_app(**options)
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, self.app, threaded=True, request_handler=QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="sandbox-lms", daemon=True)
        self.state.settings.site_url = self.url

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Base URL of the site, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rest_url(self) -> str:
        return f"{self.url}/webservice/rest/server.php"

    @property
    def state(self) -> SandboxState:
        return state_of(self.app)

    @property
    def admin_token(self) -> str:
        return self.state.admin_token

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def reset(self) -> None:
        """Back to the seeded site (cheap: sqlite backup from the in-memory snapshot)."""
        self.state.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
