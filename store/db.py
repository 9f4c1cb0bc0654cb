"""Engines, sessions, migrations and the cross-instance lock of the state store.

SQLite (the single-instance default) runs in WAL mode with foreign keys on and a busy timeout, and
every transaction starts with `BEGIN IMMEDIATE`, so a transaction that reads and then writes waits
for other writers instead of failing with "database is locked". PostgreSQL (several instances)
gets `pool_pre_ping`. A database URL is only ever shown with its password hidden.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, delete, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from store.models import Lock, utcnow

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Commits between two checkpoints by :func:`checkpoint_wal` (a webhook's commit writes ~6.6
#: pages: ~660 pages). After a complete checkpoint the next commit restarts the log and, with
#: ``synchronous = NORMAL``, syncs it, inside its writer turn: the fewer pages written since
#: the checkpoint's own sync, the shorter that stall. 100 rather than 250: commits over 5 ms
#: about halved (2 processes x 2 threads, 10,000 commits each run, 2026-11-22).
SQLITE_CHECKPOINT_EVERY = 100
#: WAL pages at which a commit checkpoints by itself, inline (SQLite's automatic checkpoint):
#: a backstop for when nobody calls :func:`checkpoint_wal` (SQLite's default would be 1,000).
SQLITE_AUTOCHECKPOINT_PAGES = 10_000
DEFAULT_LOCK_TTL = timedelta(hours=6)


class StoreError(Exception):
    """Root of the store's own errors."""


class MigrationError(StoreError):
    """A migration left the database inconsistent (it was rolled back)."""


def display_url(engine_or_url: Engine | str | sqlalchemy.URL) -> str:
    """The database URL as it may be shown in logs and messages: the password is hidden."""
    if isinstance(engine_or_url, Engine):
        url = engine_or_url.url
    else:
        url = sqlalchemy.make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` (SQLite file or PostgreSQL), configured for the store.

    Extra keyword arguments go to `sqlalchemy.create_engine`. The engine's `repr()` and every log
    line here hide the password.
    """
    parsed = sqlalchemy.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs.setdefault("pool_pre_ping", True)
    engine = sqlalchemy.create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    log.debug("store engine created for %s", display_url(engine))
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, busy timeout on each connection; real BEGIN IMMEDIATE transactions.

    pysqlite's own transaction handling starts transactions late and never for DDL, which breaks
    savepoints and transactional migrations, so it is switched off and SQLAlchemy's `begin` emits
    the BEGIN itself (the recipe in SQLAlchemy's SQLite dialect documentation).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}")
            cursor.execute("PRAGMA foreign_keys = ON")
            # In WAL mode NORMAL syncs the log at checkpoints, not at each commit: a committed
            # transaction survives a crash of the process (it is in the log, in the OS's
            # cache); a power cut or OS crash may lose the last commits, never corrupts.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # on the driver's connection: through exec_driver_sql the BEGIN cost as much Python
        # (statement context, events, result) as a webhook's whole INSERT; the same SQL
        connection.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE")


_writer_locks: dict[tuple[int, str], tuple[threading.Lock, int]] = {}
_writer_locks_guard = threading.Lock()
_checkpointers: dict[tuple[int, str], _Checkpointer] = {}


@contextmanager
def sqlite_writer(engine: Engine) -> Iterator[None]:
    """Hold the SQLite store's write turn for a short write transaction; nothing elsewhere.

    SQLite lets one transaction write at a time. A writer that finds the database locked is
    left to SQLite's busy handler, which sleeps 1, 2, 5, 10, 25 ... 100 ms between tries, so a
    writer often sleeps well past the moment the lock came free: that is the long tail of many
    short concurrent writes (webhooks). Here writers queue instead, on a lock of this process
    (threads) and an ``flock`` on ``<database>.writer`` (processes, e.g. gunicorn workers), and
    each is woken the moment the previous one leaves. Correctness does not depend on it: the
    transaction inside still starts with ``BEGIN IMMEDIATE`` and a writer that does not take
    this turn (a job, another command) is serialised by SQLite as before.
    """
    database = _sqlite_file(engine)
    if database is None:
        yield
        return
    lock, fd = _writer_lock(database)
    with lock:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def sqlite_write(engine: Engine) -> Iterator[sqlite3.Connection]:
    """One short write transaction on an SQLite store, on the driver's connection: a pooled
    connection, then the writer turn (:func:`sqlite_writer`) and ``BEGIN IMMEDIATE``; committed
    when the block ends, rolled back if it raises. For the webhook receiver's one INSERT, whose
    statement and parameters are prepared for the driver beforehand: a SQLAlchemy
    ``Connection`` and its transaction, execution context and result cost about as much
    CPU (~80 us) as SQLite's own work for it. The same SQL reaches SQLite either way.

    Raises:
        sqlalchemy.exc.DBAPIError: (e.g. ``OperationalError``) SQLite refused; as SQLAlchemy
            raises it, so callers catch ``SQLAlchemyError`` on either path.
    """
    fairy = engine.raw_connection()  # the pool's work outside the turn: others wait on it
    try:
        driver = fairy.driver_connection
        if not isinstance(driver, sqlite3.Connection):
            raise StoreError(f"sqlite_write needs an SQLite store, not {engine.dialect.name}")
        with sqlite_writer(engine):
            try:
                driver.execute("BEGIN IMMEDIATE")
                yield driver
                driver.commit()
            except BaseException as exc:
                if driver.in_transaction:
                    try:
                        driver.rollback()
                    except sqlite3.Error:
                        fairy.invalidate()  # never hand out a connection mid-transaction
                if isinstance(exc, sqlite3.Error):
                    raise _translated(exc) from exc
                raise
    finally:
        fairy.close()


def _translated(error: sqlite3.Error) -> BaseException:
    """``error`` as SQLAlchemy would raise it (``OperationalError``, ``IntegrityError`` ...)."""
    return sqlalchemy.exc.DBAPIError.instance(None, None, error, sqlite3.Error)


def checkpoint_wal(engine: Engine, *, every: int = SQLITE_CHECKPOINT_EVERY) -> bool:
    """Have an SQLite store's write-ahead log copied back into the database, by a thread of
    this process, at every ``every``-th call (a caller calls once per commit); True when this
    call asked for it. Returns at once: the caller does no I/O. Nothing elsewhere (PostgreSQL,
    memory).

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold, fsyncs
    included: every ~200 webhooks one request carried it, and every writer queued behind it
    (the long tail of the ingest latency). Here a daemon thread runs a PASSIVE checkpoint
    (it neither waits for nor blocks readers and writers, copies what it can, outside any
    transaction; the log restarts at the next write once all is copied). Commits still
    checkpoint inline past :data:`SQLITE_AUTOCHECKPOINT_PAGES` (a backstop, if this thread
    cannot keep up or nobody calls this).
    """
    database = _sqlite_file(engine)
    if database is None:
        return False
    key = (os.getpid(), database)  # a thread does not survive fork(): one per process
    with _writer_locks_guard:
        found = _checkpointers.get(key)
        if found is None or found.engine() is None:  # none yet, or its engine is gone
            found = _checkpointers[key] = _Checkpointer(engine)
    return found.count(every)


class _Checkpointer:
    """A daemon thread that checkpoints one database when asked; it ends when its engine is
    gone (it holds it weakly)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = weakref.ref(engine)
        self._calls = 0
        self._lock = threading.Lock()
        self._due = threading.Event()
        threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def count(self, every: int) -> bool:
        with self._lock:
            self._calls += 1
            due = self._calls % every == 0
        if due:
            self._due.set()
        return due

    def _run(self) -> None:
        while True:
            if not self._due.wait(timeout=60):
                if self.engine() is None:
                    return
                continue
            self._due.clear()
            engine = self.engine()
            if engine is None:
                return
            try:
                raw = engine.raw_connection()
                try:
                    raw.driver_connection.execute(  # type: ignore[union-attr]
                        "PRAGMA wal_checkpoint(PASSIVE)").close()
                finally:
                    raw.close()
            except Exception as exc:
                log.warning("SQLite checkpoint failed (commits will checkpoint instead): %s",
                            type(exc).__name__)
            del engine


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _writer_lock(database: str) -> tuple[threading.Lock, int]:
    # per process: a descriptor inherited over fork() would share its flock with the parent
    key = (os.getpid(), database)
    found = _writer_locks.get(key)
    if found is None:
        with _writer_locks_guard:
            found = _writer_locks.get(key)
            if found is None:
                path = Path(database).resolve().with_name(Path(database).name + ".writer")
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                found = _writer_locks[key] = (threading.Lock(), fd)
    return found


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to `engine`; objects stay readable after commit.

    The ORM mappings are configured here, once, rather than by the first object a job
    creates (about 20 ms of CPU that would otherwise land inside the first transaction)."""
    configure_mappers()
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session for one job or request: commits when the block ends, rolls back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of the packaged migrations, built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _pending(connection: Connection, script: ScriptDirectory) -> list[str]:
    heads = MigrationContext.configure(connection).get_current_heads()
    applied = {rev.revision for rev in script.iterate_revisions(heads, "base") if rev is not None}
    in_order = reversed(list(script.walk_revisions("base", "heads")))
    return [rev.revision for rev in in_order if rev.revision not in applied]


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(heads) if heads else None


def pending_migrations(engine: Engine) -> list[str]:
    """The revisions `migrate` would apply, oldest first; empty when the schema is current."""
    with engine.connect() as connection:
        return _pending(connection, _script())


def migrate(engine: Engine) -> list[str]:
    """Apply every pending migration in one transaction and return their revisions, oldest first.

    Safe to call from several instances at once: on PostgreSQL the migration takes a transaction
    advisory lock, on SQLite the IMMEDIATE transaction serialises writers.

    Raises:
        MigrationError: on SQLite, when the migrated data breaks a foreign key (rolled back).
    """
    script = _script()
    with _schema_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(_lock_key("migrate"))))
        applied = _pending(connection, script)
        if applied:
            command.upgrade(alembic_config(connection), "heads")
    if applied:
        log.info("store at %s: applied %s", display_url(engine), ", ".join(applied))
    return applied


def downgrade(engine: Engine, revision: str) -> None:
    """Revert the schema to `revision` ("base" empties it); for tests and operators only."""
    with _schema_transaction(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for schema changes, committed when the block ends.

    On SQLite foreign keys are off meanwhile (batch mode copies tables, and dropping a parent table
    would otherwise cascade to its children) and are checked before the commit.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _raw_pragma(connection, "PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"foreign keys broken by migration: {broken[:5]}")
        finally:
            if sqlite:
                _raw_pragma(connection, "PRAGMA foreign_keys = ON")


def _raw_pragma(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA outside any transaction (SQLite ignores foreign_keys changes inside one)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name`, as PostgreSQL's advisory lock functions take."""
    digest = hashlib.sha256(f"lms-sidecar:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def advisory_lock(
    bind: Engine | Connection, name: str, *, ttl: timedelta = DEFAULT_LOCK_TTL
) -> Iterator[bool]:
    """Try to take the database-wide lock `name` without waiting; yield whether it was taken.

    The lock is released when the block ends (only if it was taken). PostgreSQL uses a session
    advisory lock on the given connection, or on a connection held open for the block when given
    an engine; it dies with the connection, so a crashed holder never blocks others. SQLite uses a
    row in `locks` with an expiry (`ttl`): a holder that crashed is overtaken once it expired, so
    `ttl` must exceed the longest job. On SQLite the row is written in its own short transaction
    (so call this outside a write transaction on the same database).
    """
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "postgresql":
        with _pg_advisory_lock(bind, _lock_key(name)) as acquired:
            yield acquired
    else:
        with _row_lock(engine, name, ttl) as acquired:
            yield acquired


@contextmanager
def _pg_advisory_lock(bind: Engine | Connection, key: int) -> Iterator[bool]:
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            acquired = bool(connection.scalar(select(func.pg_try_advisory_lock(key))))
            connection.commit()  # the lock is session-level; do not sit idle in a transaction
            try:
                yield acquired
            finally:
                if acquired:
                    _pg_unlock(connection, key, commit=True)
        return
    acquired = bool(bind.scalar(select(func.pg_try_advisory_lock(key))))
    try:
        yield acquired
    finally:
        if acquired:
            _pg_unlock(bind, key, commit=False)


def _pg_unlock(connection: Connection, key: int, *, commit: bool) -> None:
    try:
        connection.scalar(select(func.pg_advisory_unlock(key)))
        if commit:
            connection.commit()
    except sqlalchemy.exc.SQLAlchemyError:
        # A pooled connection that may still hold the lock must never be reused.
        log.warning("releasing advisory lock %s failed; discarding the connection", key)
        connection.invalidate()
        raise


def _lock_owner() -> str:
    """Who holds a lock row: host, process id, and a nonce (one process may hold several)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _owner_is_dead(owner: str) -> bool:
    """True when the row's holder was a process on this host that no longer exists.

    A SQLite store lives on one host, so a holder killed without releasing its row (kill -9,
    power loss) is recognised here and overtaken at once instead of after the expiry.
    """
    host, _, rest = owner.partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname()[:30] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def _row_lock(engine: Engine, name: str, ttl: timedelta) -> Iterator[bool]:
    owner = _lock_owner()
    acquired = _insert_lock_row(engine, name, owner, ttl)
    try:
        yield acquired
    finally:
        if acquired:
            with engine.begin() as connection:
                connection.execute(delete(Lock).where(Lock.name == name, Lock.owner == owner))


def _insert_lock_row(engine: Engine, name: str, owner: str, ttl: timedelta) -> bool:
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(delete(Lock).where(Lock.name == name, Lock.expires_at <= now))
        holder = connection.scalar(select(Lock.owner).where(Lock.name == name))
        if holder is not None and _owner_is_dead(holder):
            connection.execute(delete(Lock).where(Lock.name == name, Lock.owner == holder))
        try:
            with connection.begin_nested():
                connection.execute(
                    sqlalchemy.insert(Lock).values(
                        name=name, owner=owner, acquired_at=now, expires_at=now + ttl
                    )
                )
        except IntegrityError:
            return False
    return True
