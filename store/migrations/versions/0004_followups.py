"""Follow-up practice: sequences, tasks, answers and opt-outs.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE_STATES = "state IN ('active', 'paused', 'finished', 'stopped', 'cancelled')"
TASK_STATUSES = ("status IN ('scheduled', 'sending', 'sent', 'answered', 'cancelled', "
                 "'failed')")


def upgrade() -> None:
    op.create_table(
        "followup_sequences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("learner_name", sa.String(length=255), nullable=False),
        sa.Column("learner_firstname", sa.String(length=255), nullable=False),
        sa.Column("learner_timezone", sa.String(length=64), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("course_shortname", sa.String(length=255), nullable=False),
        sa.Column("course_name", sa.String(length=255), nullable=False),
        sa.Column("competency", sa.String(length=255), nullable=True),
        sa.Column("competency_id", sa.Integer(), nullable=True),
        sa.Column("competency_name", sa.String(length=255), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stop_reason", sa.String(length=255), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("card", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(SEQUENCE_STATES, name=op.f("ck_followup_sequences_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_sequences")),
        sa.UniqueConstraint(
            "site", "learner_id", "course_id", "plan_id",
            name=op.f("uq_followup_sequences_site_learner_id_course_id_plan_id"),
        ),
    )
    with op.batch_alter_table("followup_sequences") as batch_op:
        batch_op.create_index(
            op.f("ix_followup_sequences_site_state"), ["site", "state"], unique=False)

    op.create_table(
        "followup_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("task_index", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("clientmsgid", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msgid", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(TASK_STATUSES, name=op.f("ck_followup_tasks_status")),
        sa.ForeignKeyConstraint(
            ["sequence_id"], ["followup_sequences.id"],
            name=op.f("fk_followup_tasks_sequence_id_followup_sequences"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_tasks")),
        sa.UniqueConstraint("clientmsgid", name=op.f("uq_followup_tasks_clientmsgid")),
        sa.UniqueConstraint(
            "sequence_id", "task_index", "attempt",
            name=op.f("uq_followup_tasks_sequence_id_task_index_attempt")),
    )
    with op.batch_alter_table("followup_tasks") as batch_op:
        batch_op.create_index(
            op.f("ix_followup_tasks_status_due_at"), ["status", "due_at"], unique=False)
        batch_op.create_index(
            op.f("ix_followup_tasks_learner_id_sent_at"), ["learner_id", "sent_at"],
            unique=False)

    op.create_table(
        "followup_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["followup_tasks.id"],
            name=op.f("fk_followup_answers_task_id_followup_tasks"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_answers")),
        sa.UniqueConstraint("task_id", name=op.f("uq_followup_answers_task_id")),
    )
    with op.batch_alter_table("followup_answers") as batch_op:
        batch_op.create_index(
            op.f("ix_followup_answers_sequence_id"), ["sequence_id"], unique=False)

    op.create_table(
        "followup_optouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=255), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_optouts")),
        sa.UniqueConstraint("site", "learner_id", name=op.f("uq_followup_optouts_site_learner_id")),
    )


def downgrade() -> None:
    op.drop_table("followup_optouts")
    with op.batch_alter_table("followup_answers") as batch_op:
        batch_op.drop_index(op.f("ix_followup_answers_sequence_id"))
    op.drop_table("followup_answers")
    with op.batch_alter_table("followup_tasks") as batch_op:
        batch_op.drop_index(op.f("ix_followup_tasks_learner_id_sent_at"))
        batch_op.drop_index(op.f("ix_followup_tasks_status_due_at"))
    op.drop_table("followup_tasks")
    with op.batch_alter_table("followup_sequences") as batch_op:
        batch_op.drop_index(op.f("ix_followup_sequences_site_state"))
    op.drop_table("followup_sequences")
