"""assets get a code of their own, unique per client (how a spreadsheet import finds them again)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_assets_client_id_code"), ["client_id", "code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_assets_client_id_code"), type_="unique")
        batch_op.drop_column("code")
