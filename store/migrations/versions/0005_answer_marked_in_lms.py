"""Follow-up answers: when an answer given on the practice page was also marked in the LMS.

On Totara 19+ each practice task is a goal task the learner can tick; an answer given on the
practice page ("done", "hard") ticks it too, once. ``lms_marked_at`` says that it was done (or
that nothing was left to do), so the progress job never asks about that answer again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followup_answers") as batch:
        batch.add_column(sa.Column("lms_marked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("followup_answers") as batch:
        batch.drop_column("lms_marked_at")
