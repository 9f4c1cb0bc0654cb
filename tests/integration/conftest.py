"""Integration tests: the real client over HTTP against the sandbox LMS on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from config import Settings
from connector.moodle.client import MoodleClient
from connector.sandbox import FaultConfig, SandboxServer, faults_of
from connector.sandbox.totara.site import TotaraSite
from sidecar.wiring import build_client
from tests.support import migrated_store

pytestmark = pytest.mark.integration


@pytest.fixture
def settings_for(sandbox) -> Callable[..., Settings]:
    """Settings for the sandbox site; keyword arguments override `lms` keys."""

    def make(**lms: object) -> Settings:
        values: dict[str, object] = {"url": sandbox.url, "token": sandbox.admin_token,
                                     "retries": {"attempts": 5, "backoff": 0.01}}
        values.update(lms)
        return Settings(lms=values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(settings_for) -> MoodleClient:
    return build_client(settings_for().lms)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_store(tmp_path) as engine:
        yield engine


# -- the sandbox playing Totara ------------------------------------------------------------------

@contextmanager
def totara_server(release: str, secret: str) -> Iterator[SandboxServer]:
    """A sandbox playing Totara ``release`` on loopback, whose API client has ``secret``."""
    with SandboxServer(totara=TotaraSite(release=release, client_secret=secret)) as server:
        yield server


def totara_sandbox(releases: Sequence[str], secret: str, *, site: str = "site") -> tuple[Any, Any]:
    """The fixtures of a test module on Totara: ``totara``, a sandbox started once per module
    and release (each of ``releases`` a parameter), and ``site`` (or the name given), that
    sandbox reset to its seeded state without faults for each test. Bind both in the module:
    ``totara, site = totara_sandbox(["17", "19"], SECRET)``."""

    @pytest.fixture(name="totara", scope="module", params=list(releases))
    def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
        with totara_server(request.param, secret) as running:
            yield running

    @pytest.fixture(name=site)
    def fresh(totara: SandboxServer) -> SandboxServer:
        totara.reset()
        faults_of(totara.app).configure(FaultConfig())
        return totara

    return server, fresh


def totara_lms(server: SandboxServer, secret: str, **lms: object) -> dict[str, object]:
    """The ``lms`` settings of a Totara sandbox (2 attempts, no wait to speak of)."""
    return {"url": server.url, "kind": "totara", "client_id": "lms-sidecar",
            "client_secret": secret, "retries": {"attempts": 2, "backoff": 0.01}, **lms}


def totara_release(server: SandboxServer) -> str:
    """The Totara release the sandbox plays ("17", "18", "19")."""
    release: str = server.app.extensions["sandbox.totara"].release
    return release
