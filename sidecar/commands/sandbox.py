"""``sidecar sandbox``: run the sandbox Moodle site, or print what is in it.

Exit codes: 0 success, 1 error (bad option value, unreadable database).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from werkzeug.serving import make_server

from connector.sandbox.app import create_app, state_of
from connector.sandbox.dump import dump_state, render_dump
from connector.sandbox.faults import FaultConfig
from connector.sandbox.server import QuietRequestHandler
from connector.sandbox.state import Db
from connector.sandbox.totara.site import TotaraSite

DEFAULT_DB = Path("sandbox.sqlite3")


def _serve_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of `sidecar sandbox` and `sidecar sandbox serve` (one definition)."""
    for option in reversed([
        click.option("--port", default=8081, show_default=True, help="Port on 127.0.0.1."),
        click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                     default=DEFAULT_DB, show_default=True,
                     help="SQLite file; created and seeded when missing, reused when present."),
        click.option("--token", envvar="SIDECAR_SANDBOX_TOKEN",
                     help="Admin token to accept (default: a random one, printed once)."),
        click.option("--blank", is_flag=True,
                     help="A blank Moodle site instead of the seeded company."),
        click.option("--max-input-vars", default=1000, show_default=True,
                     help="PHP max_input_vars: longer forms are silently cut."),
        click.option("--debug", is_flag=True,
                     help="Developer debugging: debuginfo in error bodies."),
        click.option("--latency", default="0", show_default=True,
                     help="Milliseconds per call: a fixed value or MIN-MAX for a random one."),
        click.option("--error-rate", default=0.0, show_default=True,
                     help="Share of calls with a 5xx."),
        click.option("--timeout-rate", default=0.0, show_default=True,
                     help="Share of calls that hang longer than --timeout-seconds."),
        click.option("--timeout-seconds", default=30.0, show_default=True),
        click.option("--reset-rate", default=0.0, show_default=True,
                     help="Share of calls whose connection is closed without an answer."),
        click.option("--ratelimit-rate", default=0.0, show_default=True,
                     help="Share of calls answered 429 with Retry-After."),
        click.option("--retry-after", default=1, show_default=True),
        click.option("--totara", "totara_release", type=click.Choice(["17", "18", "19"]),
                     default=None, help="Play a Totara site of this release (GraphQL API, "
                     "OAuth2 client printed once, Totara's legacy web services)."),
        click.option("--fault-seed", type=int, default=None,
                     help="Make injected faults repeatable."),
    ]):
        command = option(command)
    return command


@click.group(invoke_without_command=True)
@_serve_options
@click.pass_context
def sandbox(ctx: click.Context, /, **options: Any) -> None:
    """A Moodle-compatible sandbox site on 127.0.0.1 (the default LMS of the demo and tests).

    `sidecar sandbox --port 8081` serves it (the same as `sidecar sandbox serve`);
    `sidecar sandbox dump` prints what is in it.
    """
    if ctx.invoked_subcommand is None:
        _serve(**options)


@sandbox.command()
@_serve_options
def serve(**options: Any) -> None:
    """Serve the sandbox until Ctrl-C."""
    _serve(**options)


def _serve(port: int, db_path: Path, token: str | None, blank: bool, max_input_vars: int,
          debug: bool, latency: str, error_rate: float, timeout_rate: float,
          timeout_seconds: float, reset_rate: float, ratelimit_rate: float, retry_after: int,
          fault_seed: int | None, totara_release: str | None = None) -> None:
    low, _, high = latency.partition("-")
    try:
        faults = FaultConfig(
            latency_ms=float(low), latency_jitter_ms=float(high) - float(low) if high else 0.0,
            error_rate=error_rate, timeout_rate=timeout_rate, timeout_seconds=timeout_seconds,
            reset_rate=reset_rate, ratelimit_rate=ratelimit_rate, retry_after=retry_after,
            seed=fault_seed)
        faults.validate()
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    app = create_app(db_path, admin_token=token, seed=not blank, max_input_vars=max_input_vars,
                     debug=debug, faults=faults, site_url=f"http://127.0.0.1:{port}",
                     totara=TotaraSite(release=totara_release) if totara_release else None)
    state = state_of(app)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietRequestHandler)
    state.settings.site_url = f"http://127.0.0.1:{server.server_port}"
    err = Console(stderr=True)
    err.print(f"Sandbox Moodle at [bold]{state.settings.site_url}[/] (database {db_path})")
    if token is None:
        # Printed once, here only: it is the secret to give lms-sidecar.
        click.echo(f"admin token: {state.admin_token}")
    totara: TotaraSite | None = app.extensions.get("sandbox.totara")
    if totara is not None:
        err.print(f"playing Totara {totara.release}: lms.kind totara, lms.client_id "
                  f"{totara.client_id}")
        click.echo(f"client secret: {totara.client_secret}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        err.print("stopped")
    finally:
        server.server_close()


@sandbox.command()
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_DB, show_default=True, help="The sandbox's SQLite file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of tables.")
def dump(db_path: Path, as_json: bool) -> None:
    """Print the sandbox's state: frameworks as trees, course links, plans, messages, events."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        data = dump_state(Db(conn))
    except sqlite3.Error as error:
        raise click.ClickException(f"{db_path} is not a sandbox database: {error}") from error
    finally:
        conn.close()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    render_dump(data, Console())
