"""private follow-up links of the tickets reported from an asset's public scan page

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:40:00

One row per reported ticket: the SHA-256 of the link's token (the token itself is only in the
reporter's hands) and the language of the report. A client's rows, behind row-level security
like every other table with a ``client_id`` (migration 0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "kerops_client_rows"
# The policy of migration 0016 for a table whose client_id is never null.
RULE = (
    "coalesce((SELECT current_setting('kerops.platform', true) = 'on'), false) "
    "OR client_id = ANY ((SELECT string_to_array("
    "nullif(current_setting('kerops.client_ids', true), ''), ','))::uuid[]) "
    "OR client_id = ANY ((SELECT CASE WHEN current_setting('kerops.vendor_id', true) <> '' "
    "OR current_setting('kerops.user_id', true) <> '' THEN kerops_assigned_clients() END)"
    "::uuid[])"
)


def upgrade() -> None:
    op.create_table(
        "scan_follow_links",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_scan_follow_links_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_tickets.id"],
            name=op.f("fk_scan_follow_links_ticket_id_service_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_follow_links")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_scan_follow_links_ticket_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scan_follow_links_token_hash")),
    )
    with op.batch_alter_table("scan_follow_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scan_follow_links_client_id"), ["client_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE scan_follow_links ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON scan_follow_links FOR ALL USING ({RULE}) "
            f"WITH CHECK ({RULE})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON scan_follow_links")
    with op.batch_alter_table("scan_follow_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_follow_links_client_id"))
    op.drop_table("scan_follow_links")
