"""a client is its own row (clients), every client_id points at it; client-wide roles of members

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:00:00

Each client owner of today becomes a ``clients`` row whose id is the owner's user id, so no
``client_id`` value changes; the plan moves from the owner's user row to the client's. A second
``client_owner`` of one client (possible before through staff) becomes a member with the
client-wide ``admin`` role: a client has one owner. Downgrade: the plan goes back to the users of
each client, and a client-wide admin becomes a ``client_owner`` again (the nearest old role;
client-wide managers and viewers lose their role); a client whose ownership was handed over keeps
its id, the id of its first owner's account.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every table with a client_id column pointing at the client (users.id before, clients.id now).
CLIENT_TABLES = (
    "api_keys",
    "asset_bom",
    "asset_maintenance_plans",
    "asset_status_changes",
    "assets",
    "events",
    "identity_providers",
    "iot_devices",
    "iot_rules",
    "local_areas",
    "local_members",
    "locales",
    "notifications",
    "plan_occurrences",
    "products",
    "service_tickets",
    "sla_policies",
    "technician_certifications",
    "technician_shifts",
    "ticket_attachments",
    "ticket_comments",
    "ticket_counters",
    "ticket_history",
    "ticket_tasks",
    "users",
    "vendors",
    "webhook_deliveries",
    "webhook_subscriptions",
    "workflow_steps",
    "workflows",
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_foreign_keys(on: bool) -> None:
    """SQLite: switch foreign keys off while tables are copied (dropping a parent table would
    otherwise delete its children through ON DELETE CASCADE), and back on, checked. The pragma
    only works outside a transaction: the migration's transaction is committed around it."""
    if context.is_offline_mode() or not _sqlite():
        return
    cursor = op.get_bind().connection.cursor()
    try:
        if on:
            cursor.execute("PRAGMA foreign_key_check")
            broken = cursor.fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        cursor.execute("COMMIT")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.execute("BEGIN IMMEDIATE")
    finally:
        cursor.close()


def _point_client_ids_at(table: str) -> None:
    for name in CLIENT_TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            other = "users" if table == "clients" else "clients"
            batch_op.drop_constraint(f"fk_{name}_client_id_{other}", type_="foreignkey")
            batch_op.create_foreign_key(
                f"fk_{name}_client_id_{table}", table, ["client_id"], ["id"], ondelete="CASCADE"
            )


def upgrade() -> None:
    _sqlite_foreign_keys(False)
    op.create_table(
        "clients",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_clients_owner_user_id_users"),
            ondelete="RESTRICT",
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clients_owner_user_id"), ["owner_user_id"])
    op.execute(
        "INSERT INTO clients (id, name, owner_user_id, plan, created_at, updated_at) "
        "SELECT id, full_name, id, plan, created_at, updated_at FROM users "
        "WHERE role = 'client_owner' AND client_id = id"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_role", sa.String(length=32), nullable=True))
    # One owner per client: any other client_owner of a client becomes its admin.
    op.execute(
        "UPDATE users SET role = 'client_member', client_role = 'admin' "
        "WHERE role = 'client_owner' AND (client_id IS NULL OR client_id <> id)"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("plan")
    _point_client_ids_at("clients")
    _sqlite_foreign_keys(True)


def downgrade() -> None:
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("plan", sa.String(length=32), nullable=False, server_default="free")
        )
    op.execute(
        "UPDATE users SET plan = (SELECT clients.plan FROM clients "
        "WHERE clients.id = users.client_id) WHERE client_id IS NOT NULL"
    )
    op.execute(
        "UPDATE users SET role = 'client_owner' "
        "WHERE role = 'client_member' AND client_role = 'admin'"
    )
    _point_client_ids_at("users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("plan", server_default=None)
        batch_op.drop_column("client_role")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_owner_user_id"))
    op.drop_table("clients")
    _sqlite_foreign_keys(True)
