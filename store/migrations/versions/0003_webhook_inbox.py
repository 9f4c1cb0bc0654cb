"""The webhook inbox (completion events in) and the watermarks of periodic jobs.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOX_STATUSES = "status IN ('new', 'claimed', 'processed', 'ignored', 'failed')"


def upgrade() -> None:
    op.create_table(
        "inbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.CheckConstraint(INBOX_STATUSES, name=op.f("ck_inbox_events_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbox_events_dedupe_key")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_inbox_events_source_event_id")),
    )
    with op.batch_alter_table("inbox_events") as batch_op:
        batch_op.create_index(op.f("ix_inbox_events_status_id"), ["status", "id"], unique=False)
        batch_op.create_index(
            op.f("ix_inbox_events_course_id_user_id"), ["course_id", "user_id"], unique=False
        )
        batch_op.create_index(op.f("ix_inbox_events_received_at"), ["received_at"], unique=False)

    op.create_table(
        "watermarks",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("watermarks")
    with op.batch_alter_table("inbox_events") as batch_op:
        batch_op.drop_index(op.f("ix_inbox_events_received_at"))
        batch_op.drop_index(op.f("ix_inbox_events_course_id_user_id"))
        batch_op.drop_index(op.f("ix_inbox_events_status_id"))
    op.drop_table("inbox_events")
