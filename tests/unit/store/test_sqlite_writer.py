"""store.sqlite_writer: SQLite writers take turns (threads and processes); a no-op elsewhere."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import store


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
