"""Engines and sessions for the store tests, on SQLite and on PostgreSQL (`store_url`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store import create_engine, migrate, session_factory


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """An engine on an empty database (not migrated)."""
    engine = create_engine(store_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """The engine with every migration applied."""
    migrate(engine)
    return engine


@pytest.fixture
def sessions(migrated: Engine) -> sessionmaker[Session]:
    return session_factory(migrated)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session
