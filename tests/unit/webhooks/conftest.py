"""Store fixtures for the webhook tests: a migrated engine on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store


@pytest.fixture
def inbox_engine(store_url: str) -> Iterator[Engine]:
    """A migrated store (SQLite file or the worker's PostgreSQL database)."""
    engine = store.create_engine(store_url)
    store.migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(inbox_engine: Engine) -> sessionmaker[Session]:
    return store.session_factory(inbox_engine)
