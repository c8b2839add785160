"""jobs outbox: the jobs a transaction queued, until each has run

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("relay_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
    )
    with op.batch_alter_table("job_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_outbox_failed_at_relay_at", ["failed_at", "relay_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("job_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_job_outbox_failed_at_relay_at")
    op.drop_table("job_outbox")
