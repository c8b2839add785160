"""labour and reports: technicians' work logs on tickets and labour rates; report files made as
jobs, report schedules and the periods they were sent for; a purchase order's e-mail claim and
when it was sent

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 01:25:23

Every new table holds a client's rows: row-level security with the ``kerops_client_rows``
policy of 0016 on PostgreSQL. At most one work log runs per technician: a partial unique index
on ``technician_id`` where ``ended_at`` is null, on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("labour_rates", "ticket_work_logs", "reports", "report_schedules", "report_deliveries")
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


def _secure() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} FOR ALL USING ({RULE}) WITH CHECK ({RULE})")


def _unsecure() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")


def upgrade() -> None:
    op.create_table(
        "labour_rates",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("technician_id", sa.Uuid(), nullable=True),
        sa.Column("vendor_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("hourly_rate_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_labour_rates_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["users.id"],
            name=op.f("fk_labour_rates_technician_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_labour_rates_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labour_rates")),
    )
    with op.batch_alter_table("labour_rates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labour_rates_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_labour_rates_client_id_technician_id", ["client_id", "technician_id"], unique=False
        )
        batch_op.create_index(
            "ix_labour_rates_client_id_vendor_id", ["client_id", "vendor_id"], unique=False
        )

    op.create_table(
        "report_schedules",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("locale_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.String(length=32), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("day_of_month", sa.Integer(), nullable=True),
        sa.Column("time_of_day", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("skip_empty", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_report_schedules_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_report_schedules_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["locale_id"],
            ["locales.id"],
            name=op.f("fk_report_schedules_locale_id_locales"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_schedules")),
    )
    with op.batch_alter_table("report_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_schedules_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_report_schedules_is_active_next_run_at", ["is_active", "next_run_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_schedules_locale_id"), ["locale_id"], unique=False
        )

    op.create_table(
        "reports",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("schedule_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(length=255), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_reports_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_reports_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["report_schedules.id"],
            name=op.f("fk_reports_schedule_id_report_schedules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_reports_storage_key")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_reports_client_id_created_at_id", ["client_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reports_schedule_id"), ["schedule_id"], unique=False)
        batch_op.create_index(
            "ix_reports_status_expires_at", ["status", "expires_at"], unique=False
        )

    op.create_table(
        "report_deliveries",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_report_deliveries_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_deliveries_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["report_schedules.id"],
            name=op.f("fk_report_deliveries_schedule_id_report_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_deliveries")),
        sa.UniqueConstraint(
            "schedule_id",
            "period_start",
            name=op.f("uq_report_deliveries_schedule_id_period_start"),
        ),
    )
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_deliveries_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "ticket_work_logs",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("locale_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("hourly_rate_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_ticket_work_logs_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_ticket_work_logs_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["locale_id"],
            ["locales.id"],
            name=op.f("fk_ticket_work_logs_locale_id_locales"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["users.id"],
            name=op.f("fk_ticket_work_logs_technician_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_ticket_work_logs_ticket_id_service_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_ticket_work_logs_vendor_id_vendors"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_work_logs")),
    )
    with op.batch_alter_table("ticket_work_logs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_work_logs_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_work_logs_client_id_started_at_id",
            ["client_id", "started_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ticket_work_logs_technician_id_started_at",
            ["technician_id", "started_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ticket_work_logs_ticket_id_started_at", ["ticket_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "uq_ticket_work_logs_running_technician_id",
            ["technician_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_claimed_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True))

    _secure()


def downgrade() -> None:
    _unsecure()
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_column("emailed_at")
        batch_op.drop_column("email_claimed_until")

    with op.batch_alter_table("ticket_work_logs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ticket_work_logs_running_technician_id",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index("ix_ticket_work_logs_ticket_id_started_at")
        batch_op.drop_index("ix_ticket_work_logs_technician_id_started_at")
        batch_op.drop_index("ix_ticket_work_logs_client_id_started_at_id")
        batch_op.drop_index(batch_op.f("ix_ticket_work_logs_client_id"))

    op.drop_table("ticket_work_logs")
    with op.batch_alter_table("report_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_deliveries_client_id"))

    op.drop_table("report_deliveries")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_reports_schedule_id"))
        batch_op.drop_index("ix_reports_client_id_created_at_id")
        batch_op.drop_index(batch_op.f("ix_reports_client_id"))

    op.drop_table("reports")
    with op.batch_alter_table("report_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_schedules_locale_id"))
        batch_op.drop_index("ix_report_schedules_is_active_next_run_at")
        batch_op.drop_index(batch_op.f("ix_report_schedules_client_id"))

    op.drop_table("report_schedules")
    with op.batch_alter_table("labour_rates", schema=None) as batch_op:
        batch_op.drop_index("ix_labour_rates_client_id_vendor_id")
        batch_op.drop_index("ix_labour_rates_client_id_technician_id")
        batch_op.drop_index(batch_op.f("ix_labour_rates_client_id"))

    op.drop_table("labour_rates")
