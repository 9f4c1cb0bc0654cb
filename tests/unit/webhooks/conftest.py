"""Store fixtures for the webhook tests: a migrated engine on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two migrated SQLite file stores, for comparing two ways of writing the same thing."""
    pair = []
    for name in ("one", "two"):
        engine = store.create_engine(f"sqlite:///{tmp_path / f'{name}.sqlite'}")
        store.migrate(engine)
        pair.append(engine)
    yield pair[0], pair[1]
    for engine in pair:
        engine.dispose()
