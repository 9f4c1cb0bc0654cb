"""Migrations: apply from empty, no-op on repeat, down and up, and agreement with the models."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from store import Base, current_revision, migrate, pending_migrations
from store.db import MIGRATIONS_DIR, _script, downgrade

FIRST_TABLES = {"lms_objects", "sync_runs", "sync_steps", "locks"}
# Every revision, oldest first; later issues append to it through new migrations.
ALL_REVISIONS = [rev.revision for rev in reversed(list(_script().walk_revisions()))]


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _differences(engine: Engine, metadata: sa.MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_migrate_from_empty_applies_0001_and_then_nothing(engine: Engine) -> None:
    assert ALL_REVISIONS[0] == "0001"
    assert current_revision(engine) is None
    assert pending_migrations(engine) == ALL_REVISIONS

    assert migrate(engine) == ALL_REVISIONS
    assert migrate(engine) == []

    assert pending_migrations(engine) == []
    assert current_revision(engine) == ALL_REVISIONS[-1]
    assert _tables(engine) >= FIRST_TABLES


def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    migrate(engine)
    downgrade(engine, "base")
    assert _tables(engine) == set()
    assert current_revision(engine) is None
    assert pending_migrations(engine) == ALL_REVISIONS

    assert migrate(engine) == ALL_REVISIONS
    assert _tables(engine) >= FIRST_TABLES
    assert _differences(engine, Base.metadata) == []


def test_models_and_migrations_agree(migrated: Engine) -> None:
    assert _differences(migrated, Base.metadata) == []


def test_the_agreement_check_sees_a_model_change_without_a_migration(migrated: Engine) -> None:
    drifted = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["lms_objects"].append_column(sa.Column("note", sa.Text(), nullable=True))
    sa.Index("ix_sync_steps_op_kind", drifted.tables["sync_steps"].c.op_kind)

    kinds = {diff[0] for diff in _differences(migrated, drifted)}  # type: ignore[index]
    assert kinds == {"add_column", "add_index"}


def test_constraints_have_the_conventional_names(migrated: Engine) -> None:
    with migrated.connect() as connection:
        inspector = inspect(connection)
        uniques = {uq["name"] for uq in inspector.get_unique_constraints("lms_objects")}
        indexes = {ix["name"] for ix in inspector.get_indexes("lms_objects")}
        fks = {fk["name"] for fk in inspector.get_foreign_keys("sync_steps")}
    assert uniques == {"uq_lms_objects_site_kind_scope_external_id"}
    assert "ix_lms_objects_site_kind_lms_id" in indexes
    assert fks == {"fk_sync_steps_run_id_sync_runs"}


def test_foreign_keys_are_enforced_after_migrating(migrated: Engine) -> None:
    step = {"run_id": 999, "op_id": "x", "op_kind": "create", "status": "done", "detail": "{}"}
    with pytest.raises(IntegrityError), migrated.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO sync_steps (run_id, op_id, op_kind, status, detail, finished_at) "
                "VALUES (:run_id, :op_id, :op_kind, :status, :detail, CURRENT_TIMESTAMP)"
            ),
            step,
        )


def test_two_instances_migrating_at_once_apply_each_revision_once(engine: Engine) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            results.append(migrate(engine))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [[], ALL_REVISIONS]


def test_migrations_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    shipped = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py"))
    assert shipped[0] == "0001_initial.py"
    assert len(shipped) == len(ALL_REVISIONS)
