"""custom fields: a client's field definitions, and the custom_fields values of assets, tickets
and locales

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 19:30:00

``custom_field_definitions`` is a client's table: row-level security with the
``kerops_client_rows`` policy of 0016 on PostgreSQL. ``custom_fields`` is JSONB on PostgreSQL
with a GIN index (``jsonb_path_ops``, for the lists' ``@>`` filters), JSON text on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "kerops_client_rows"
CARRIERS = ("assets", "service_tickets", "locales")

# The policy of 0016 (kerops_client_rows), for a table whose client_id is never null.
PLATFORM = "coalesce((SELECT current_setting('kerops.platform', true) = 'on'), false)"
LISTED = (
    "client_id = ANY ((SELECT string_to_array("
    "nullif(current_setting('kerops.client_ids', true), ''), ','))::uuid[])"
)
ASSIGNED = (
    "client_id = ANY ((SELECT CASE WHEN current_setting('kerops.vendor_id', true) <> '' "
    "OR current_setting('kerops.user_id', true) <> '' THEN kerops_assigned_clients() END)"
    "::uuid[])"
)
RULE = f"{PLATFORM} OR {LISTED} OR {ASSIGNED}"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "custom_field_definitions",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("choices", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_custom_field_definitions_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_field_definitions")),
        sa.UniqueConstraint(
            "client_id",
            "entity",
            "code",
            name=op.f("uq_custom_field_definitions_client_id_entity_code"),
        ),
    )
    with op.batch_alter_table("custom_field_definitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_field_definitions_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_custom_field_definitions_client_entity_position",
            ["client_id", "entity", "position"],
            unique=False,
        )
    values_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    for table in CARRIERS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "custom_fields", values_type, server_default=sa.text("'{}'"), nullable=False
                )
            )
        if postgres:
            op.create_index(
                f"ix_{table}_custom_fields",
                table,
                ["custom_fields"],
                postgresql_using="gin",
                postgresql_ops={"custom_fields": "jsonb_path_ops"},
            )
    if postgres:
        op.execute("ALTER TABLE custom_field_definitions ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON custom_field_definitions FOR ALL "
            f"USING ({RULE}) WITH CHECK ({RULE})"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in CARRIERS:
        if postgres:
            op.drop_index(f"ix_{table}_custom_fields", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("custom_fields")
    if postgres:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON custom_field_definitions")
    with op.batch_alter_table("custom_field_definitions", schema=None) as batch_op:
        batch_op.drop_index("ix_custom_field_definitions_client_entity_position")
        batch_op.drop_index(batch_op.f("ix_custom_field_definitions_client_id"))
    op.drop_table("custom_field_definitions")
