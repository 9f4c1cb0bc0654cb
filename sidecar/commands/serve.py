"""``sidecar serve``: the service: WSGI app under gunicorn, and the nightly schedule."""

from __future__ import annotations

import gc
import shutil
import tempfile
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from config import Settings
from sidecar.app import create_app
from sidecar.context import CliContext, pass_context
from sidecar.metrics import enable_multiprocess, worker_exited
from sidecar.scheduler import start_scheduler
from sidecar.wiring import open_store


class SidecarServer(BaseApplication):  # type: ignore[misc]
    """gunicorn running :func:`sidecar.app.create_app`; every worker builds its own app and
    scheduler after the fork (the database lock lets only one of them run a job)."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        engine = open_store(self.settings)
        app = create_app(self.settings, engine)
        app.extensions["sidecar.scheduler"] = start_scheduler(self.settings, engine)
        # What the worker built (app, engine, statement caches) lives as long as it does:
        # out of later full collections, as the imports are (sidecar.cli.freeze_imports),
        # so that a full collection does not walk it all inside some request.
        gc.freeze()
        return app


@click.command()
@click.option("--host", help="Address to listen on (default: server.host).")
@click.option("--port", type=int, help="Port (default: server.port).")
@click.option("--workers", type=int, help="Worker processes (default: server.workers).")
@click.option("--threads", type=int,
              help="Threads per worker, gthread when more than 1 (default: server.threads).")
@pass_context
def serve(ctx: CliContext, host: str | None, port: int | None, workers: int | None,
          threads: int | None) -> None:
    """Run the service: health endpoints, and the framework sync on its schedule
    (sync.schedule). Stops on Ctrl-C or SIGTERM.
    """
    settings = ctx.settings()
    bind = f"{host or settings.server.host}:{port or settings.server.port}"
    metrics_dir = tempfile.mkdtemp(prefix="sidecar-metrics-")
    enable_multiprocess(metrics_dir)
    ctx.err.print(f"lms-sidecar serving on http://{bind} for {settings.lms.url}",
                  highlight=False)
    SidecarServer(settings, {
        "bind": bind, "workers": workers or settings.server.workers,
        "threads": threads or settings.server.threads,
        "accesslog": None, "errorlog": "-", "loglevel": settings.logging.level.lower(),
        "proc_name": "lms-sidecar", "graceful_timeout": 30,
        "child_exit": lambda _server, worker: worker_exited(worker.pid),
    }).run()
    shutil.rmtree(metrics_dir, ignore_errors=True)
