"""The database lock that lets only one instance run a job (the nightly sync)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from store import advisory_lock
from store.db import _lock_key
from store.models import Lock, utcnow


def test_second_acquirer_is_refused_while_the_first_holds_the_lock(migrated: Engine) -> None:
    with advisory_lock(migrated, "nightly") as first:
        assert first is True
        with advisory_lock(migrated, "nightly") as second:
            assert second is False
        with advisory_lock(migrated, "nightly") as third:  # a refused attempt released nothing
            assert third is False
        with advisory_lock(migrated, "other-job") as unrelated:
            assert unrelated is True
    with advisory_lock(migrated, "nightly") as after_release:
        assert after_release is True


def test_two_connections_exclude_each_other(migrated: Engine) -> None:
    with migrated.connect() as one, migrated.connect() as two:
        with advisory_lock(one, "nightly") as first:
            assert first is True
            with advisory_lock(two, "nightly") as second:
                assert second is False
        with advisory_lock(two, "nightly") as after_release:
            assert after_release is True


def test_a_crashed_holder_does_not_block_forever(migrated: Engine) -> None:
    if migrated.dialect.name == "postgresql":
        # The advisory lock dies with its session: a holder whose connection is gone frees it.
        holder = migrated.connect()
        assert holder.scalar(sa.select(sa.func.pg_try_advisory_lock(_lock_key("nightly"))))
        holder.commit()
        with advisory_lock(migrated, "nightly") as while_alive:
            assert while_alive is False
        holder.invalidate()
        holder.close()
        # The server notices the closed connection asynchronously; under load that takes a
        # moment, after which the lock must be free without anybody unlocking it.
        import time

        deadline = time.monotonic() + 10
        while True:
            with advisory_lock(migrated, "nightly") as freed:
                if freed or time.monotonic() > deadline:
                    break
            time.sleep(0.05)
    else:
        # A lock row left by a crashed process blocks only until it expires.
        now = utcnow()
        with migrated.begin() as connection:
            connection.execute(
                sa.insert(Lock).values(
                    name="nightly",
                    owner="dead",
                    acquired_at=now,
                    expires_at=now + timedelta(hours=1),
                )
            )
        with advisory_lock(migrated, "nightly") as while_valid:
            assert while_valid is False
        with migrated.begin() as connection:
            connection.execute(sa.update(Lock).values(expires_at=now - timedelta(seconds=1)))
    with advisory_lock(migrated, "nightly") as taken:
        assert taken is True


def test_the_lock_is_released_when_the_job_raises(migrated: Engine) -> None:
    try:
        with advisory_lock(migrated, "nightly") as acquired:
            assert acquired
            raise RuntimeError("job failed")
    except RuntimeError:
        pass
    with advisory_lock(migrated, "nightly") as again:
        assert again is True


def test_a_row_left_by_a_killed_process_on_this_host_is_taken_over_at_once(
    migrated: Engine,
) -> None:
    import socket
    import subprocess
    import sys

    if migrated.dialect.name == "postgresql":
        return  # session advisory locks die with the connection (test above)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    owner = f"{socket.gethostname()[:30]}:{dead.stdout.strip()}:abc"
    now = utcnow()
    with migrated.begin() as connection:
        connection.execute(sa.insert(Lock).values(
            name="nightly", owner=owner, acquired_at=now, expires_at=now + timedelta(hours=6)))
    with advisory_lock(migrated, "nightly") as taken:
        assert taken is True
