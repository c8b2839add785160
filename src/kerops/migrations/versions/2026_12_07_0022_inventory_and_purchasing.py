"""inventory and purchasing: warehouses, stock, the movements ledger, transfers, stock counts,
purchase orders (lines, history, approval rules, settings), ticket reservations; what products
gain for the stores; a workflow step that requires parts

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:30:37

Every new table holds a client's rows: row-level security with the ``kerops_client_rows``
policy of 0016 on PostgreSQL. ``inventory_movements`` is append-only as ``audit_logs`` is: a
trigger refuses UPDATE and DELETE on both databases. Quantities are BIGINT thousandths.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "warehouses",
    "inventory_stock",
    "inventory_movements",
    "inventory_transfers",
    "stock_counts",
    "stock_count_lines",
    "purchase_orders",
    "purchase_order_lines",
    "purchase_order_events",
    "purchase_approval_rules",
    "purchasing_settings",
    "stock_reservations",
)
POLICY = "kerops_client_rows"

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


def _secure(postgres: bool) -> None:
    if postgres:
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY {POLICY} ON {table} FOR ALL USING ({RULE}) WITH CHECK ({RULE})"
            )
        op.execute(
            "CREATE FUNCTION inventory_movements_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'inventory_movements is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER inventory_movements_append_only BEFORE UPDATE OR DELETE "
            "ON inventory_movements FOR EACH ROW EXECUTE FUNCTION "
            "inventory_movements_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER inventory_movements_no_{event.lower()} BEFORE {event} "
                "ON inventory_movements "
                "BEGIN SELECT RAISE(ABORT, 'inventory_movements is append-only'); END"
            )


def _unsecure(postgres: bool) -> None:
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS inventory_movements_append_only ON inventory_movements")
        op.execute("DROP FUNCTION IF EXISTS inventory_movements_append_only()")
        for table in TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    else:
        op.execute("DROP TRIGGER IF EXISTS inventory_movements_no_update")
        op.execute("DROP TRIGGER IF EXISTS inventory_movements_no_delete")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "purchase_approval_rules",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_total_minor", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_purchase_approval_rules_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_approval_rules")),
        sa.UniqueConstraint(
            "client_id",
            "currency",
            "min_total_minor",
            name=op.f("uq_purchase_approval_rules_client_id_currency_min_total_minor"),
        ),
    )
    with op.batch_alter_table("purchase_approval_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_approval_rules_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "purchasing_settings",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("over_receipt_percent", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_purchasing_settings_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchasing_settings")),
        sa.UniqueConstraint("client_id", name=op.f("uq_purchasing_settings_client_id")),
    )
    op.create_table(
        "warehouses",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("locale_id", sa.Uuid(), nullable=True),
        sa.Column("technician_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_warehouses_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["locale_id"],
            ["locales.id"],
            name=op.f("fk_warehouses_locale_id_locales"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["users.id"],
            name=op.f("fk_warehouses_technician_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warehouses")),
        sa.UniqueConstraint("client_id", "code", name=op.f("uq_warehouses_client_id_code")),
    )
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warehouses_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_warehouses_locale_id"), ["locale_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_warehouses_technician_id"), ["technician_id"], unique=False
        )

    op.create_table(
        "inventory_movements",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("document_kind", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_inventory_movements_quantity_not_zero")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_inventory_movements_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_inventory_movements_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_inventory_movements_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_inventory_movements_warehouse_id_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_movements")),
    )
    with op.batch_alter_table("inventory_movements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inventory_movements_client_id_id", ["client_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_inventory_movements_document", ["document_kind", "document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inventory_movements_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            "ix_inventory_movements_warehouse_id_product_id_id",
            ["warehouse_id", "product_id", "id"],
            unique=False,
        )

    op.create_table(
        "inventory_stock",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("on_order", sa.BigInteger(), nullable=False),
        sa.Column("reorder_point", sa.BigInteger(), nullable=False),
        sa.Column("reorder_quantity", sa.BigInteger(), nullable=False),
        sa.Column("bin_location", sa.String(length=64), nullable=False),
        sa.Column("average_cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_inventory_stock_on_hand_not_negative")),
        sa.CheckConstraint("on_order >= 0", name=op.f("ck_inventory_stock_on_order_not_negative")),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= on_hand",
            name=op.f("ck_inventory_stock_reserved_within_on_hand"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_inventory_stock_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_inventory_stock_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_inventory_stock_warehouse_id_warehouses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_stock")),
        sa.UniqueConstraint(
            "warehouse_id", "product_id", name=op.f("uq_inventory_stock_warehouse_id_product_id")
        ),
    )
    with op.batch_alter_table("inventory_stock", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inventory_stock_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_inventory_stock_client_id_product_id", ["client_id", "product_id"], unique=False
        )
        batch_op.create_index(
            "ix_inventory_stock_client_id_created_at_id",
            ["client_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "inventory_transfers",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("from_warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("to_warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_inventory_transfers_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_inventory_transfers_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["from_warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_inventory_transfers_from_warehouse_id_warehouses"),
        ),
        sa.ForeignKeyConstraint(
            ["to_warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_inventory_transfers_to_warehouse_id_warehouses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_transfers")),
    )
    with op.batch_alter_table("inventory_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inventory_transfers_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inventory_transfers_from_warehouse_id"),
            ["from_warehouse_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_inventory_transfers_to_warehouse_id"), ["to_warehouse_id"], unique=False
        )

    op.create_table(
        "purchase_orders",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=True),
        sa.Column("proposed", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_by_id", sa.Uuid(), nullable=True),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_purchase_orders_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_purchase_orders_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_purchase_orders_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_purchase_orders_submitted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_purchase_orders_vendor_id_vendors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_purchase_orders_warehouse_id_warehouses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint(
            "client_id", "number", name=op.f("uq_purchase_orders_client_id_number")
        ),
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_purchase_orders_client_id_status", ["client_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_vendor_id"), ["vendor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_warehouse_id"), ["warehouse_id"], unique=False
        )

    op.create_table(
        "stock_counts",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("started_by_id", sa.Uuid(), nullable=True),
        sa.Column("posted_by_id", sa.Uuid(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_stock_counts_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["posted_by_id"],
            ["users.id"],
            name=op.f("fk_stock_counts_posted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_stock_counts_started_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_stock_counts_warehouse_id_warehouses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_counts")),
    )
    with op.batch_alter_table("stock_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_counts_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_stock_counts_warehouse_id"), ["warehouse_id"], unique=False
        )

    op.create_table(
        "purchase_order_events",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_purchase_order_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_purchase_order_events_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_events_order_id_purchase_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_events")),
    )
    with op.batch_alter_table("purchase_order_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_order_events_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_purchase_order_events_order_id_created_at", ["order_id", "created_at"], unique=False
        )

    op.create_table(
        "purchase_order_lines",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_purchase_order_lines_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_lines_order_id_purchase_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_purchase_order_lines_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_lines")),
    )
    with op.batch_alter_table("purchase_order_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_order_lines_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_purchase_order_lines_order_id_position", ["order_id", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_order_lines_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "stock_count_lines",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("count_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("expected", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=True),
        sa.Column("counted_by_id", sa.Uuid(), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_stock_count_lines_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["count_id"],
            ["stock_counts.id"],
            name=op.f("fk_stock_count_lines_count_id_stock_counts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counted_by_id"],
            ["users.id"],
            name=op.f("fk_stock_count_lines_counted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stock_count_lines_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_count_lines")),
        sa.UniqueConstraint(
            "count_id", "product_id", name=op.f("uq_stock_count_lines_count_id_product_id")
        ),
    )
    with op.batch_alter_table("stock_count_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_count_lines_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "stock_reservations",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("warehouse_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_stock_reservations_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stock_reservations_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_stock_reservations_ticket_id_service_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_stock_reservations_warehouse_id_warehouses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservations")),
    )
    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_reservations_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_stock_reservations_ticket_id_status", ["ticket_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_stock_reservations_warehouse_id_product_id",
            ["warehouse_id", "product_id"],
            unique=False,
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("barcode", sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column("preferred_vendor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("vendor_sku", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("lead_time_days", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("is_stocked", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_products_preferred_vendor_id"), ["preferred_vendor_id"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_products_client_id_barcode"), ["client_id", "barcode"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_products_preferred_vendor_id_vendors"),
            "vendors",
            ["preferred_vendor_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("workflow_steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "requires_parts_recorded",
                sa.Boolean(),
                server_default=sa.text("false"),
                nullable=False,
            )
        )
    _secure(postgres)


def downgrade() -> None:
    _unsecure(op.get_bind().dialect.name == "postgresql")
    with op.batch_alter_table("workflow_steps", schema=None) as batch_op:
        batch_op.drop_column("requires_parts_recorded")

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_products_preferred_vendor_id_vendors"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_products_client_id_barcode"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_products_preferred_vendor_id"))
        batch_op.drop_column("is_stocked")
        batch_op.drop_column("lead_time_days")
        batch_op.drop_column("vendor_sku")
        batch_op.drop_column("preferred_vendor_id")
        batch_op.drop_column("barcode")

    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_reservations_warehouse_id_product_id")
        batch_op.drop_index("ix_stock_reservations_ticket_id_status")
        batch_op.drop_index(batch_op.f("ix_stock_reservations_client_id"))

    op.drop_table("stock_reservations")
    with op.batch_alter_table("stock_count_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_count_lines_client_id"))

    op.drop_table("stock_count_lines")
    with op.batch_alter_table("purchase_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_order_lines_product_id"))
        batch_op.drop_index("ix_purchase_order_lines_order_id_position")
        batch_op.drop_index(batch_op.f("ix_purchase_order_lines_client_id"))

    op.drop_table("purchase_order_lines")
    with op.batch_alter_table("purchase_order_events", schema=None) as batch_op:
        batch_op.drop_index("ix_purchase_order_events_order_id_created_at")
        batch_op.drop_index(batch_op.f("ix_purchase_order_events_client_id"))

    op.drop_table("purchase_order_events")
    with op.batch_alter_table("stock_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_counts_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_stock_counts_client_id"))

    op.drop_table("stock_counts")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_orders_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_orders_vendor_id"))
        batch_op.drop_index("ix_purchase_orders_client_id_status")
        batch_op.drop_index(batch_op.f("ix_purchase_orders_client_id"))

    op.drop_table("purchase_orders")
    with op.batch_alter_table("inventory_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inventory_transfers_to_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_inventory_transfers_from_warehouse_id"))
        batch_op.drop_index(batch_op.f("ix_inventory_transfers_client_id"))

    op.drop_table("inventory_transfers")
    with op.batch_alter_table("inventory_stock", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_stock_client_id_created_at_id")
        batch_op.drop_index("ix_inventory_stock_client_id_product_id")
        batch_op.drop_index(batch_op.f("ix_inventory_stock_client_id"))

    op.drop_table("inventory_stock")
    with op.batch_alter_table("inventory_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_inventory_movements_warehouse_id_product_id_id")
        batch_op.drop_index(batch_op.f("ix_inventory_movements_product_id"))
        batch_op.drop_index("ix_inventory_movements_document")
        batch_op.drop_index("ix_inventory_movements_client_id_id")

    op.drop_table("inventory_movements")
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warehouses_technician_id"))
        batch_op.drop_index(batch_op.f("ix_warehouses_locale_id"))
        batch_op.drop_index(batch_op.f("ix_warehouses_client_id"))

    op.drop_table("warehouses")
    op.drop_table("purchasing_settings")
    with op.batch_alter_table("purchase_approval_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_approval_rules_client_id"))

    op.drop_table("purchase_approval_rules")
