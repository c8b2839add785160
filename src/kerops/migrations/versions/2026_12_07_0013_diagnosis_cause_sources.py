"""the tickets a diagnosis' cause is taken from

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ai_cause_ticket_ids", sa.JSON(), server_default="[]", nullable=False)
        )
    # A cause stored before may quote any of its similar tickets: shown only to those who may
    # read them all.
    op.execute(
        "UPDATE service_tickets SET ai_cause_ticket_ids = ai_similar_ticket_ids"
        " WHERE ai_diagnosed_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_column("ai_cause_ticket_ids")
