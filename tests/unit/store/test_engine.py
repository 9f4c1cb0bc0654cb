"""Engine set-up per database, and URLs that never show their password."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from store import create_engine, display_url, migrate


def test_engine_is_configured_for_its_database(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() >= 1000
        else:
            assert engine.dialect.name == "postgresql"
            assert engine.dialect.driver == "psycopg"
            assert engine.pool._pre_ping is True
            assert connection.scalar(sa.text("SELECT 1")) == 1


def test_migrating_leaves_foreign_keys_on(engine: Engine) -> None:
    migrate(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_passwords_never_show_in_repr_or_logs(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-Pa55"
    url = sa.make_url(store_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password=secret)  # trust authentication ignores it, so the engine works
    shown_url = url.render_as_string(hide_password=False)

    caplog.set_level(logging.DEBUG)
    engine = create_engine(shown_url)
    try:
        migrate(engine)
        shown = [repr(engine), str(engine.url), display_url(engine), display_url(shown_url)]
    finally:
        engine.dispose()

    assert all(secret not in text for text in shown)
    assert secret not in caplog.text
    assert "store at" in caplog.text
    assert display_url("postgresql://sync:" + secret + "@db:5432/lms") == (
        "postgresql://sync:***@db:5432/lms"
    )
