"""ticket list indexes in the lists' default order

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 21:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_client_id_status_id")
        batch_op.drop_index("ix_service_tickets_client_id_locale_id_id")
        batch_op.create_index(
            "ix_service_tickets_client_id_status_created_at_id",
            ["client_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_service_tickets_client_id_locale_id_created_at_id",
            ["client_id", "locale_id", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_client_id_locale_id_created_at_id")
        batch_op.drop_index("ix_service_tickets_client_id_status_created_at_id")
        batch_op.create_index(
            "ix_service_tickets_client_id_locale_id_id", ["client_id", "locale_id", "id"]
        )
        batch_op.create_index(
            "ix_service_tickets_client_id_status_id", ["client_id", "status", "id"]
        )
