"""The sandbox's injected state: the SQLite database, its seeded snapshot, the clock, settings."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.schema import CONTEXT_COURSE, CONTEXT_SYSTEM, CONTEXT_USER

KEYED_CHUNK = 500  # well under SQLite's limit of variables in one statement


class Clock:
    """Wall time plus an offset that tests move forward; can be frozen. Every timestamp uses it."""

    def __init__(self, start: int | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()
        self._frozen: float | None = None

    def now(self) -> int:
        """Seconds since the epoch as the sandbox sees them."""
        if self._frozen is not None:
            return int(self._frozen)
        return int(time.time() + self._offset)

    def set(self, timestamp: int) -> None:
        """Jump to ``timestamp`` (and stay there if frozen)."""
        if self._frozen is not None:
            self._frozen = float(timestamp)
        self._offset = timestamp - time.time()

    def advance(self, seconds: int) -> None:
        """Move time forward by ``seconds``."""
        self.set(self.now() + seconds)

    def freeze(self, frozen: bool) -> None:
        """Stop (or restart) the clock at its current reading."""
        self._frozen = float(self.now()) if frozen else None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


class Db:
    """A thin helper over one sqlite3 connection: rows as dicts, inserts return the new id."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, tuple(args))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, args)
        return rows[0] if rows else None

    def scalar(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Any:
        row = self.conn.execute(sql, tuple(args)).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> int:
        return self.conn.execute(sql, tuple(args)).rowcount

    def insert(self, table: str, **values: Any) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = self.conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 - names are ours
            tuple(values.values()),
        )
        return int(cursor.lastrowid or 0)

    def next_id(self, table: str) -> int:
        """The id SQLite gives the next row of ``table``: every table's ``id INTEGER PRIMARY
        KEY`` has no AUTOINCREMENT, so it is the largest id + 1 (1 in an empty table)."""
        return int(self.scalar(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"))  # noqa: S608

    def insert_many(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
                    first: int | None = None) -> list[int]:
        """Insert ``rows`` (values for ``columns``) in order with one statement; their ids.

        The ids are the ones :meth:`insert` row by row would get (:meth:`next_id` onwards),
        given explicitly; ``first`` is :meth:`next_id` when the caller had to know it before.
        """
        if not rows:
            return []
        start = self.next_id(table) if first is None else first
        ids = range(start, start + len(rows))
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(
            f"INSERT INTO {table} (id, {', '.join(columns)}) VALUES (?, {marks})",  # noqa: S608
            [(row_id, *row) for row_id, row in zip(ids, rows, strict=True)],
        )
        return list(ids)

    def keyed(self, sql: str, keys: list[Any]) -> dict[Any, Any]:
        """``{first column: second column}`` of ``sql`` for ``keys``, which ``{keys}`` in
        ``sql`` stands for (``WHERE id IN ({keys})``); asked in chunks of ``KEYED_CHUNK``."""
        found: dict[Any, Any] = {}
        for start in range(0, len(keys), KEYED_CHUNK):
            chunk = keys[start:start + KEYED_CHUNK]
            found.update(self.conn.execute(sql.format(keys=", ".join("?" * len(chunk))), chunk))
        return found

    def update(self, table: str, row_id: int, **values: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ?",  # noqa: S608 - names are ours
            (*values.values(), row_id),
        )

    def context_id(self, contextlevel: int, instanceid: int) -> int:
        """The context id of an instance, created on first use as Moodle does."""
        found = self.scalar(
            "SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?",
            (contextlevel, instanceid),
        )
        if found is not None:
            return int(found)
        return self.insert("context", contextlevel=contextlevel, instanceid=instanceid)

    def user_context(self, userid: int) -> int:
        return self.context_id(CONTEXT_USER, userid)

    def course_context(self, courseid: int) -> int:
        return self.context_id(CONTEXT_COURSE, courseid)

    def system_context(self) -> int:
        return self.context_id(CONTEXT_SYSTEM, 0)


@dataclass
class Settings:
    """Site settings that tests flip at run time."""

    debugdeveloper: bool = False
    max_input_vars: int = 1000
    site_url: str = "http://127.0.0.1:8080"


@dataclass
class SandboxState:
    """Everything one sandbox app holds: database, snapshot for reset, clock, settings."""

    conn: sqlite3.Connection
    clock: Clock
    settings: Settings
    admin_token: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    snapshot: sqlite3.Connection | None = None
    #: The web-service functions this site offers by name; None: every Moodle function
    #: (a Totara site offers another set, see connector.sandbox.totara.legacy).
    functions: dict[str, Any] | None = None

    @property
    def db(self) -> Db:
        return Db(self.conn)

    @contextmanager
    def transaction(self) -> Iterator[Db]:
        """Hold the lock and commit on success, roll back on any error."""
        with self.lock:
            try:
                yield Db(self.conn)
            except BaseException:
                self.conn.rollback()
                raise
            self.conn.commit()

    def take_snapshot(self) -> None:
        """Remember the current database so that :meth:`reset` can bring it back."""
        with self.lock:
            self.conn.commit()
            snapshot = sqlite3.connect(":memory:", check_same_thread=False)
            self.conn.backup(snapshot)
            self.snapshot = snapshot

    def reset(self) -> None:
        """Restore the database to the snapshot taken after seeding (sqlite backup API)."""
        if self.snapshot is None:
            raise RuntimeError("No snapshot was taken; call take_snapshot() first.")
        with self.lock:
            self.conn.commit()
            self.snapshot.backup(self.conn)
