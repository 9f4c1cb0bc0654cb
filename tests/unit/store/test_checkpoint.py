"""The SQLite store's write-ahead log is checkpointed by a thread, not inside a commit."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import insert, text

import store
from store.db import SQLITE_AUTOCHECKPOINT_PAGES
from store.models import AuditEntry, utcnow


def test_commits_checkpoint_inline_only_past_the_backstop(tmp_path: Path) -> None:
    engine = store.create_engine(f"sqlite:///{tmp_path}/state.sqlite")
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    engine.dispose()
    assert (pages, mode, sync) == (SQLITE_AUTOCHECKPOINT_PAGES, "wal", 1)  # 1: NORMAL


def test_every_nth_call_has_a_thread_copy_the_log_into_the_database(tmp_path: Path) -> None:
    database = tmp_path / "state.sqlite"
    engine = store.create_engine(f"sqlite:///{database}")
    store.migrate(engine)
    with engine.begin() as connection:
        connection.execute(insert(AuditEntry), [
            {"at": utcnow(), "site": "s", "actor": "test", "action": "accept",
             "subject": "x" * 400 + str(n), "detail": {}}
            for n in range(2_000)])
    before = database.stat().st_size
    assert [store.checkpoint_wal(engine, every=3) for _ in range(3)] == [False, False, True]
    deadline = time.monotonic() + 10
    while database.stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert database.stat().st_size > before  # the rows' pages reached the database file
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2_000
    engine.dispose()


def test_nothing_to_do_without_an_sqlite_file() -> None:
    engine = store.create_engine("sqlite://")
    assert not store.checkpoint_wal(engine, every=1)
    engine.dispose()


def test_a_new_engine_gets_a_thread_when_the_old_one_is_gone(tmp_path: Path) -> None:
    import gc

    url = f"sqlite:///{tmp_path}/state.sqlite"
    first = store.create_engine(url)
    store.checkpoint_wal(first, every=1000)
    first.dispose()
    del first
    gc.collect()
    second = store.create_engine(url)
    store.migrate(second)
    before = (tmp_path / "state.sqlite").stat().st_size
    assert store.checkpoint_wal(second, every=1)
    deadline = time.monotonic() + 10
    while (tmp_path / "state.sqlite").stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "state.sqlite").stat().st_size > before
    second.dispose()
