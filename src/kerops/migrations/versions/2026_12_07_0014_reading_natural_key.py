"""a reading without message_id but with its device time is identified by device, metric and time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMED_WITHOUT_MESSAGE_ID = "message_id IS NULL AND device_time <> received_at"


def upgrade() -> None:
    # Copies stored before the key (a re-sent batch without message ids) keep their first row.
    op.execute(
        "DELETE FROM iot_readings WHERE message_id IS NULL AND device_time <> received_at "
        "AND EXISTS (SELECT 1 FROM iot_readings AS earlier WHERE "
        "earlier.device_id = iot_readings.device_id AND earlier.metric = iot_readings.metric "
        "AND earlier.device_time = iot_readings.device_time AND earlier.message_id IS NULL "
        "AND earlier.device_time <> earlier.received_at AND earlier.id < iot_readings.id)"
    )
    with op.batch_alter_table("iot_readings", schema=None) as batch_op:
        batch_op.create_index(
            "uq_iot_readings_device_id_metric_device_time",
            ["device_id", "metric", "device_time"],
            unique=True,
            sqlite_where=sa.text(TIMED_WITHOUT_MESSAGE_ID),
            postgresql_where=sa.text(TIMED_WITHOUT_MESSAGE_ID),
        )


def downgrade() -> None:
    with op.batch_alter_table("iot_readings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_iot_readings_device_id_metric_device_time",
            sqlite_where=sa.text(TIMED_WITHOUT_MESSAGE_ID),
            postgresql_where=sa.text(TIMED_WITHOUT_MESSAGE_ID),
        )
