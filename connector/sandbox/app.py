"""The sandbox's application factory: state, seed, snapshot, blueprints. No module-level app."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from flask import Flask

from connector.sandbox import admin, protocol
from connector.sandbox.faults import FaultConfig, FaultInjector
from connector.sandbox.seed import SERVICE_SHORTNAME, create_blank_site, populate
from connector.sandbox.state import Clock, Db, SandboxState, Settings
from connector.sandbox.totara.setup import play_totara
from connector.sandbox.totara.site import TotaraSite

DEFAULT_ADMIN_PASSWORD = "Sandbox-admin-1"  # noqa: S105 - a documented sandbox login
_SEEDED: dict[tuple[bool, int, str], bytes] = {}


def _seeded_bytes(seed: bool, day: int, admin_password: str) -> bytes:
    """Build (once per process and day) the seeded database and keep it serialized."""
    key = (seed, day, admin_password)
    if key not in _SEEDED:
        conn = sqlite3.connect(":memory:")
        db = Db(conn)
        create_blank_site(db, day, admin_password)
        if seed:
            populate(db, day)
        conn.commit()
        _SEEDED[key] = conn.serialize()
        conn.close()
    return _SEEDED[key]


def _open(db_path: str | Path | None, clock: Clock, seed: bool, admin_password: str
          ) -> sqlite3.Connection:
    target = ":memory:" if db_path is None else str(db_path)
    fresh = db_path is None or not Path(db_path).exists() or Path(db_path).stat().st_size == 0
    conn = sqlite3.connect(target, check_same_thread=False)
    if fresh:
        source = sqlite3.connect(":memory:")
        source.deserialize(_seeded_bytes(seed, clock.now() // 86400 * 86400, admin_password))
        source.backup(conn)
        source.close()
    return conn


def install_admin_token(db: Db, token: str, now: int) -> None:
    """Make ``token`` the admin's token for the all-functions service (replacing older ones)."""
    serviceid = db.scalar("SELECT id FROM external_services WHERE shortname = ?",
                          (SERVICE_SHORTNAME,))
    db.execute("DELETE FROM external_tokens WHERE userid = 2 AND externalserviceid = ?",
               (serviceid,))
    db.insert("external_tokens", token=token, userid=2, externalserviceid=serviceid,
              timecreated=now)


def create_app(
    db_path: str | Path | None = None,
    *,
    admin_token: str | None = None,
    seed: bool = True,
    max_input_vars: int = 1000,
    debug: bool = False,
    faults: FaultConfig | None = None,
    clock_start: int | None = None,
    site_url: str = "http://127.0.0.1:8080",
    admin_password: str = DEFAULT_ADMIN_PASSWORD,
    totara: TotaraSite | None = None,
) -> Flask:
    """Build a sandbox Moodle site.

    Args:
        db_path: SQLite file; created and seeded when missing, reused as is when present.
            None keeps the site in memory.
        admin_token: the site admin's token for service ``lms_sidecar`` (all functions);
            a random one when None (read it from ``app.extensions["sandbox"].admin_token``).
        seed: False gives a blank Moodle site (admin, front page, scale 2) instead of the
            believable company.
        max_input_vars: PHP's limit; the form is silently cut after this many variables.
        debug: developer debugging (adds ``debuginfo`` to error bodies).
        faults: latency and fault injection from the first call on.
        clock_start: start the sandbox clock at this Unix time instead of now.
        totara: play a Totara site of this release instead (GraphQL API, OAuth2 token
            endpoint, Totara's legacy web services); see connector.sandbox.totara.
    """
    app = Flask(__name__)
    clock = Clock(clock_start)
    token = admin_token or secrets.token_hex(16)
    conn = _open(db_path, clock, seed, admin_password)
    state = SandboxState(conn=conn, clock=clock, admin_token=token,
                         settings=Settings(debug, max_input_vars, site_url.rstrip("/")))
    with state.transaction() as db:
        install_admin_token(db, token, clock.now())
    if totara is not None:
        play_totara(app, state, totara, seed=seed)
    state.take_snapshot()
    app.extensions["sandbox"] = state
    app.extensions["sandbox.faults"] = FaultInjector(faults)
    app.register_blueprint(protocol.blueprint)
    app.register_blueprint(admin.blueprint)
    return app


def state_of(app: Flask) -> SandboxState:
    """The injected state of a sandbox app (database, clock, settings, reset)."""
    state: SandboxState = app.extensions["sandbox"]
    return state


def faults_of(app: Flask) -> FaultInjector:
    injector: FaultInjector = app.extensions["sandbox.faults"]
    return injector
