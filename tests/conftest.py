"""Shared test helpers: where `../shared/` is, and how to read the recorded Moodle exchanges.

The recordings are read in place from the team's shared folder (never copied into the repo).
CI checks out the clone with `shared/` beside it; SIDECAR_SHARED overrides the location.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _locate_shared() -> Path:
    candidates = [os.environ.get("SIDECAR_SHARED"), REPO.parent / "shared", REPO / "../shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "moodle-contract" / "index.json").is_file():
            return Path(candidate).resolve()
    raise RuntimeError(
        "The team's shared folder was not found beside the checkout "
        f"(looked in {REPO.parent / 'shared'}); set SIDECAR_SHARED to its path."
    )


SHARED = _locate_shared()
CONTRACT = SHARED / "moodle-contract"
SAMPLES = SHARED / "samples"


@dataclass(frozen=True)
class Exchange:
    """One recorded HTTP exchange with the real Moodle 4.5.6 site."""

    file: str
    label: str
    function: str | None
    params: list[tuple[str, str]]
    format: str
    http_status: int
    content_type: str
    body: str

    @property
    def json(self) -> object:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.params)


@cache
def contract_index() -> list[dict[str, object]]:
    return json.loads((CONTRACT / "index.json").read_text())["exchanges"]


@cache
def exchange(name: str) -> Exchange:
    """Load one recording by its file name, with or without the `.json` ending, or its number."""
    if name.isdigit():
        matches = [e["file"] for e in contract_index() if str(e["file"]).startswith(f"{name}_")]
        name = str(matches[0])
    path = CONTRACT / (name if name.endswith(".json") else f"{name}.json")
    raw = json.loads(path.read_text())
    return Exchange(
        file=path.name,
        label=raw["label"],
        function=raw["function"],
        params=[(k, v) for k, v in raw["params"]],
        format=raw["format"],
        http_status=raw["http_status"],
        content_type=raw["content_type"],
        body=raw["response_body_text"],
    )


def all_exchanges() -> list[Exchange]:
    return [exchange(str(e["file"])) for e in contract_index()]


@pytest.fixture
def shared_dir() -> Path:
    return SHARED


# --- State store databases: every store test runs on SQLite and on PostgreSQL. ---

PG_ADMIN_URL = os.environ.get("SIDECAR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session and xdist worker, dropped at the end.

    Created through the `test` database (SIDECAR_TEST_PG_URL overrides the server). When the
    server cannot be reached this fails, never skips: a skip would hide a missing CI service.
    """
    import secrets

    import psycopg
    from sqlalchemy import make_url

    admin = make_url(PG_ADMIN_URL)
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    name = f"sidecar_test_{worker}_{secrets.token_hex(4)}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        pytest.fail(
            f"PostgreSQL is needed by the store tests and is not usable at "
            f"{admin.render_as_string(hide_password=True)}: {error}".strip()
            + "\nStart the server (or set SIDECAR_TEST_PG_URL); these tests never skip.",
            pytrace=False,
        )
    try:
        yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_pg_schema(url: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as connection:
        connection.execute("SET lock_timeout = '10s'")
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store database: a SQLite file, or the worker's PostgreSQL database
    emptied for this test. Build an engine with `store.create_engine(store_url)` and dispose it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    url: str = request.getfixturevalue("pg_url")
    _empty_pg_schema(url)
    return url


@pytest.fixture(scope="session")
def sandbox_server():
    """One seeded sandbox Moodle on a free loopback port for the whole session."""
    from connector.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The session's sandbox, reset to the seeded site and with no faults before each test."""
    from connector.sandbox import FaultConfig, faults_of

    sandbox_server.reset()
    faults_of(sandbox_server.app).configure(FaultConfig())
    return sandbox_server
