"""The first tables: LMS objects by external id, sync runs and their steps, locks.

Revision ID: 0001
Revises:
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_STATUSES = "status IN ('running', 'succeeded', 'failed', 'partial')"
RUN_TRIGGERS = "trigger IN ('cli', 'schedule', 'webhook', 'admin')"
STEP_STATUSES = "status IN ('done', 'failed', 'skipped')"


def upgrade() -> None:
    op.create_table(
        "lms_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("lms_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lms_objects")),
        sa.UniqueConstraint(
            "site",
            "kind",
            "scope",
            "external_id",
            name=op.f("uq_lms_objects_site_kind_scope_external_id"),
        ),
    )
    with op.batch_alter_table("lms_objects") as batch_op:
        batch_op.create_index(
            op.f("ix_lms_objects_site_kind_lms_id"), ["site", "kind", "lms_id"], unique=False
        )

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(RUN_STATUSES, name=op.f("ck_sync_runs_status")),
        sa.CheckConstraint(RUN_TRIGGERS, name=op.f("ck_sync_runs_trigger")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs") as batch_op:
        batch_op.create_index(
            op.f("ix_sync_runs_site_kind_started_at"),
            ["site", "kind", "started_at"],
            unique=False,
        )

    op.create_table(
        "sync_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("op_id", sa.String(length=255), nullable=False),
        sa.Column("op_kind", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lms_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(STEP_STATUSES, name=op.f("ck_sync_steps_status")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_steps_run_id_sync_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_steps")),
        sa.UniqueConstraint("run_id", "op_id", name=op.f("uq_sync_steps_run_id_op_id")),
    )

    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_table("sync_steps")
    with op.batch_alter_table("sync_runs") as batch_op:
        batch_op.drop_index(op.f("ix_sync_runs_site_kind_started_at"))
    op.drop_table("sync_runs")
    with op.batch_alter_table("lms_objects") as batch_op:
        batch_op.drop_index(op.f("ix_lms_objects_site_kind_lms_id"))
    op.drop_table("lms_objects")
