"""preventive maintenance occurrences and diagnosis

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_occurrences",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("locale_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("occurrence_key", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meter_value", sa.Double(), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_plan_occurrences_client_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["locale_id"],
            ["locales.id"],
            name=op.f("fk_plan_occurrences_locale_id_locales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["asset_maintenance_plans.id"],
            name=op.f("fk_plan_occurrences_plan_id_asset_maintenance_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_plan_occurrences_ticket_id_service_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_occurrences")),
        sa.UniqueConstraint(
            "plan_id", "occurrence_key", name=op.f("uq_plan_occurrences_plan_id_occurrence_key")
        ),
    )
    with op.batch_alter_table("plan_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_occurrences_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_plan_occurrences_ticket_id"), ["ticket_id"], unique=False
        )

    with op.batch_alter_table("asset_maintenance_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("neglected_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("neglect_reason", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("asset_maintenance_plans", schema=None) as batch_op:
        batch_op.drop_column("neglect_reason")
        batch_op.drop_column("neglected_since")

    with op.batch_alter_table("plan_occurrences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_occurrences_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_plan_occurrences_client_id"))

    op.drop_table("plan_occurrences")
