"""Integration tests: the real client over HTTP against the sandbox LMS on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import store
from config import Settings
from connector.moodle.client import MoodleClient
from sidecar.wiring import build_client

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
    engine = store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.migrate(engine)
    yield engine
    engine.dispose()
