"""row-level security on every table with a client_id (PostgreSQL): a second wall

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "kerops_client_rows"

# The client a vendor (kerops.vendor_id) belongs to, if it is a client's own, and the clients of
# the tickets assigned to that vendor or to kerops.user_id (a technician), one index probe per
# client (kerops.core.row_scope). SECURITY DEFINER: it reads
# the tickets as their owner, past their own policy. The policies call it only when one of the two
# is set, so a client's callers never pay for it.
ASSIGNED_CLIENTS = """
CREATE OR REPLACE FUNCTION kerops_assigned_clients() RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  vendor uuid := nullif(current_setting('kerops.vendor_id', true), '')::uuid;
  technician uuid := nullif(current_setting('kerops.user_id', true), '')::uuid;
  clients uuid[] := '{}';
BEGIN
  IF vendor IS NOT NULL THEN
    clients := clients || ARRAY(
      SELECT v.client_id FROM vendors AS v WHERE v.id = vendor AND v.client_id IS NOT NULL);
    clients := clients || ARRAY(
      WITH RECURSIVE found(client_id) AS (
        (SELECT t.client_id FROM service_tickets AS t WHERE t.vendor_id = vendor
         ORDER BY t.client_id LIMIT 1)
        UNION ALL
        SELECT (SELECT t.client_id FROM service_tickets AS t
                WHERE t.vendor_id = vendor AND t.client_id > found.client_id
                ORDER BY t.client_id LIMIT 1)
        FROM found WHERE found.client_id IS NOT NULL)
      SELECT client_id FROM found WHERE client_id IS NOT NULL);
  END IF;
  IF technician IS NOT NULL THEN
    clients := clients || ARRAY(
      WITH RECURSIVE found(client_id) AS (
        (SELECT t.client_id FROM service_tickets AS t WHERE t.technician_id = technician
         ORDER BY t.client_id LIMIT 1)
        UNION ALL
        SELECT (SELECT t.client_id FROM service_tickets AS t
                WHERE t.technician_id = technician AND t.client_id > found.client_id
                ORDER BY t.client_id LIMIT 1)
        FROM found WHERE found.client_id IS NOT NULL)
      SELECT client_id FROM found WHERE client_id IS NOT NULL);
  END IF;
  RETURN clients;
END
$$
"""

# Each sub-select runs once per statement (an InitPlan), not once per row.
PLATFORM = "coalesce((SELECT current_setting('kerops.platform', true) = 'on'), false)"
# (The casts outside the sub-selects make them array expressions, not ANY's row sub-queries.)
LISTED = (
    "client_id = ANY ((SELECT string_to_array("
    "nullif(current_setting('kerops.client_ids', true), ''), ','))::uuid[])"
)
ASSIGNED = (
    "client_id = ANY ((SELECT CASE WHEN current_setting('kerops.vendor_id', true) <> '' "
    "OR current_setting('kerops.user_id', true) <> '' THEN kerops_assigned_clients() END)"
    "::uuid[])"
)


def _rule(nullable: bool, column: str = "client_id") -> str:
    shared = " OR client_id IS NULL" if nullable else ""
    rule = f"{PLATFORM}{shared} OR {LISTED} OR {ASSIGNED}"
    return rule.replace("client_id = ANY", f"{column} = ANY")


def _client_tables() -> list[tuple[str, bool]]:
    rows = op.get_bind().execute(
        text(
            "SELECT c.table_name, c.is_nullable = 'YES' FROM information_schema.columns AS c "
            "JOIN information_schema.tables AS t ON t.table_schema = c.table_schema "
            "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
            "WHERE c.table_schema = current_schema() AND c.column_name = 'client_id' "
            "ORDER BY c.table_name"
        )
    )
    return [(name, bool(nullable)) for name, nullable in rows]


def upgrade() -> None:
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_tickets_vendor_id_client_id", ["vendor_id", "client_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_tickets_technician_id_client_id",
            ["technician_id", "client_id"],
            unique=False,
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(ASSIGNED_CLIENTS)
    for table, nullable in _client_tables():
        rule = _rule(nullable)
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(
            f'CREATE POLICY {POLICY} ON "{table}" FOR ALL USING ({rule}) WITH CHECK ({rule})'
        )
    # A client's own row: its id is the client id.
    rule = _rule(False, "id")
    op.execute("ALTER TABLE clients ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON clients FOR ALL USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON clients")
        op.execute("ALTER TABLE clients DISABLE ROW LEVEL SECURITY")
        for table, _nullable in _client_tables():
            op.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
            op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
        op.execute("DROP FUNCTION IF EXISTS kerops_assigned_clients()")
    with op.batch_alter_table("service_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_service_tickets_technician_id_client_id")
        batch_op.drop_index("ix_service_tickets_vendor_id_client_id")
