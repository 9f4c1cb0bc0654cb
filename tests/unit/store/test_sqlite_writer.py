"""store.sqlite_writer: SQLite writers take turns (threads and processes); a no-op elsewhere.
store.db.sqlite_write: one short immediate transaction on the driver's connection."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

import store
from store.db import sqlite_write


def test_writers_of_one_sqlite_file_take_turns(tmp_path: Path) -> None:
    engine = store.create_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    inside: list[int] = []
    overlaps: list[int] = []

    def write() -> None:
        with store.sqlite_writer(engine):
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(len(inside))
            time.sleep(0.005)
            inside.pop()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert (tmp_path / "state.sqlite.writer").exists()


def test_in_memory_sqlite_needs_no_turn(tmp_path: Path) -> None:
    engine = store.create_engine("sqlite://")
    with store.sqlite_writer(engine), store.sqlite_writer(engine):  # not held: no deadlock
        pass
    assert list(tmp_path.iterdir()) == []


def _rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql("SELECT name FROM t")]


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Engine]:
    engine = store.create_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (name TEXT UNIQUE)")
    yield engine
    engine.dispose()


def test_sqlite_write_commits_an_immediate_transaction(table: Engine, tmp_path: Path) -> None:
    with sqlite_write(table) as driver:
        assert driver.in_transaction
        # BEGIN IMMEDIATE: the write lock is held from the start, before any write, so
        # another writer is refused
        other = sqlite3.connect(tmp_path / "state.sqlite", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        driver.execute("INSERT INTO t VALUES ('a')")
    assert _rows(table) == [("a",)]
    assert not driver.in_transaction  # back in the pool, committed


def test_sqlite_write_rolls_back_when_the_block_raises(table: Engine) -> None:
    with pytest.raises(RuntimeError), sqlite_write(table) as driver:
        driver.execute("INSERT INTO t VALUES ('a')")
        raise RuntimeError("crash before the commit")
    assert _rows(table) == []
    assert not driver.in_transaction


def test_sqlite_write_raises_sqlite_errors_as_sqlalchemy_does(table: Engine) -> None:
    with sqlite_write(table) as driver:
        driver.execute("INSERT INTO t VALUES ('a')")
    with pytest.raises(IntegrityError), sqlite_write(table) as driver:
        driver.execute("INSERT INTO t VALUES ('b')")
        driver.execute("INSERT INTO t VALUES ('a')")
    with pytest.raises(OperationalError), sqlite_write(table) as driver:
        driver.execute("INSERT INTO nowhere VALUES (1)")
    assert _rows(table) == [("a",)]  # 'b' rolled back with the failed transaction
