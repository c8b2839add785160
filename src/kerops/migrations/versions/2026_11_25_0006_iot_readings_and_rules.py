"""IoT readings, ingestion batches and threshold rules

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("iot_devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metrics", sa.JSON(), server_default="{}", nullable=False))

    op.create_table(
        "iot_readings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("device_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["iot_devices.id"],
            name=op.f("fk_iot_readings_device_id_iot_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_readings")),
        sa.UniqueConstraint(
            "device_id", "message_id", name=op.f("uq_iot_readings_device_id_message_id")
        ),
    )
    with op.batch_alter_table("iot_readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_iot_readings_device_id_metric_device_time",
            ["device_id", "metric", "device_time"],
            unique=False,
        )
        batch_op.create_index(
            "ix_iot_readings_device_time", ["device_time"], unique=False, postgresql_using="brin"
        )

    op.create_table(
        "iot_rules",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("low", sa.Double(), nullable=True),
        sa.Column("high", sa.Double(), nullable=True),
        sa.Column("hysteresis", sa.Double(), nullable=False),
        sa.Column("no_data_minutes", sa.Integer(), nullable=True),
        sa.Column("cooldown_minutes", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_value", sa.Double(), nullable=True),
        sa.Column("last_tripped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("trip_count", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["users.id"],
            name=op.f("fk_iot_rules_client_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["iot_devices.id"],
            name=op.f("fk_iot_rules_device_id_iot_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_iot_rules_ticket_id_service_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_rules")),
    )
    with op.batch_alter_table("iot_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iot_rules_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_iot_rules_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("iot_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iot_rules_device_id"))
        batch_op.drop_index(batch_op.f("ix_iot_rules_client_id"))
    op.drop_table("iot_rules")

    with op.batch_alter_table("iot_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_iot_readings_device_time", postgresql_using="brin")
        batch_op.drop_index("ix_iot_readings_device_id_metric_device_time")
    op.drop_table("iot_readings")

    with op.batch_alter_table("iot_devices", schema=None) as batch_op:
        batch_op.drop_column("metrics")
