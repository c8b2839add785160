"""the sync log (changes, tombstones, departures, reach resets), notifications' updated_at, the
tickets' and notifications' updated_since indexes

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 20:00:00

The log starts with one ``upsert`` row per object the apps keep, in the order of their last
change, so that the first sync of an app reads them all from the log.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "kerops_client_rows"
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
# Departures and resets belong to no client (their person may no longer reach it).
RULE = f"{PLATFORM} OR client_id IS NULL OR {LISTED} OR {ASSIGNED}"

#: (kind, table, locale column, person column, time column) of each kind the apps keep.
KINDS = (
    ("ticket", "service_tickets", "locale_id", "technician_id", "updated_at"),
    ("task", "ticket_tasks", "locale_id", None, "updated_at"),
    ("comment", "ticket_comments", "locale_id", None, "updated_at"),
    ("attachment", "ticket_attachments", "locale_id", None, "created_at"),
    ("asset", "assets", "locale_id", None, "updated_at"),
    ("plan", "asset_maintenance_plans", "locale_id", None, "updated_at"),
    ("shift", "technician_shifts", None, "technician_id", "updated_at"),
    ("certification", "technician_certifications", None, "technician_id", "updated_at"),
    ("notification", "notifications", None, "user_id", "updated_at"),
)


#: A missing id, typed (PostgreSQL types a bare NULL of a UNION as text).
NO_ID = "CAST(NULL AS UUID)"


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notifications SET updated_at = created_at")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index(
            "ix_notifications_user_id_updated_at", ["user_id", "updated_at"], unique=False
        )
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_tickets_client_id_updated_at_id",
            ["client_id", "updated_at", "id"],
            unique=False,
        )
    op.create_table(
        "sync_changes",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("locale_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("vendor_id", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_sync_changes_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_sync_changes")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.create_index("ix_sync_changes_client_id", ["client_id"], unique=False)
        batch_op.create_index("ix_sync_changes_changed_at", ["changed_at"], unique=False)
        batch_op.create_index(
            "ix_sync_changes_object_id_position", ["object_id", "position"], unique=False
        )
        batch_op.create_index(
            "ix_sync_changes_user_id_op_position", ["user_id", "op", "position"], unique=False
        )
    selects = []
    for kind, table, locale, person, at in KINDS:
        selects.append(
            f"SELECT client_id, '{kind}' AS kind, id AS object_id, 'upsert' AS op, "  # noqa: S608
            f"{locale or NO_ID} AS locale_id, {person or NO_ID} AS user_id, "
            f"{NO_ID} AS vendor_id, {at} AS changed_at FROM {table}"
        )
    op.execute(
        "INSERT INTO sync_changes "  # noqa: S608 (this file's own tables and columns)
        "(client_id, kind, object_id, op, locale_id, user_id, vendor_id, changed_at) "
        f"SELECT * FROM ({' UNION ALL '.join(selects)}) AS objects "
        "ORDER BY changed_at, object_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE sync_changes ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON sync_changes FOR ALL USING ({RULE}) WITH CHECK ({RULE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON sync_changes")
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_changes_user_id_op_position")
        batch_op.drop_index("ix_sync_changes_object_id_position")
        batch_op.drop_index("ix_sync_changes_changed_at")
        batch_op.drop_index("ix_sync_changes_client_id")
    op.drop_table("sync_changes")
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_client_id_updated_at_id")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_updated_at")
        batch_op.drop_column("updated_at")
