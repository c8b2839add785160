"""SLA clock: business hours, pauses, warnings

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_BUSINESS_HOURS = (
    '{"mon":[["09:00","18:00"]],"tue":[["09:00","18:00"]],"wed":[["09:00","18:00"]],'
    '"thu":[["09:00","18:00"]],"fri":[["09:00","18:00"]],"sat":[],"sun":[]}'
)
RUNNING = ("open", "assigned", "accepted", "en_route", "in_progress", "reopened")


def upgrade() -> None:
    with op.batch_alter_table("locales", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "business_hours",
                sa.JSON(),
                server_default=sa.text(f"'{DEFAULT_BUSINESS_HOURS}'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("closed_dates", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )

    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sla_clock", sa.String(length=32), server_default="calendar", nullable=False)
        )
        batch_op.add_column(
            sa.Column("sla_response_warn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_resolution_warn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_response_warned_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_resolution_warned_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sla_paused_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "sla_paused_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("sla_next_check_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_service_tickets_sla_next_check_at",
            ["sla_next_check_at"],
            unique=False,
            sqlite_where=sa.text("sla_next_check_at IS NOT NULL"),
            postgresql_where=sa.text("sla_next_check_at IS NOT NULL"),
        )

    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clock", sa.String(length=32), server_default="calendar", nullable=False)
        )

    # Tickets already running are watched for their breaches from now on (they have no warning
    # instants: those are fixed when a ticket is raised).
    tickets = sa.table(
        "service_tickets",
        sa.column("status", sa.String()),
        sa.column("responded_at", sa.DateTime(timezone=True)),
        sa.column("sla_response_breached", sa.Boolean()),
        sa.column("sla_resolution_breached", sa.Boolean()),
        sa.column("sla_response_due_at", sa.DateTime(timezone=True)),
        sa.column("sla_resolution_due_at", sa.DateTime(timezone=True)),
        sa.column("sla_next_check_at", sa.DateTime(timezone=True)),
    )
    response_pending = sa.and_(
        tickets.c.responded_at.is_(None), tickets.c.sla_response_breached.is_(sa.false())
    )
    op.execute(
        tickets.update()
        .where(
            tickets.c.status.in_(RUNNING),
            sa.or_(response_pending, tickets.c.sla_resolution_breached.is_(sa.false())),
        )
        .values(
            sla_next_check_at=sa.case(
                (response_pending, tickets.c.sla_response_due_at),
                else_=tickets.c.sla_resolution_due_at,
            )
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.drop_column("clock")

    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_service_tickets_sla_next_check_at",
            sqlite_where=sa.text("sla_next_check_at IS NOT NULL"),
            postgresql_where=sa.text("sla_next_check_at IS NOT NULL"),
        )
        batch_op.drop_column("sla_next_check_at")
        batch_op.drop_column("sla_paused_minutes")
        batch_op.drop_column("sla_paused_at")
        batch_op.drop_column("sla_resolution_warned_at")
        batch_op.drop_column("sla_response_warned_at")
        batch_op.drop_column("sla_resolution_warn_at")
        batch_op.drop_column("sla_response_warn_at")
        batch_op.drop_column("sla_clock")

    with op.batch_alter_table("locales", schema=None) as batch_op:
        batch_op.drop_column("closed_dates")
        batch_op.drop_column("business_hours")
