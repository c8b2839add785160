"""The sync log: every change of what the technicians' apps keep, its tombstones and departures,
in commit order (``kerops.core.sync_log`` writes it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base


class SyncChange(Base):
    """One change of an object an app keeps, at a position in the log (monotonic, in commit
    order): ``upsert`` (created or changed), ``delete`` (a tombstone), ``depart`` (the object
    left the reach of ``user_id`` or of ``vendor_id``'s admins) or ``reset`` (``user_id``'s reach
    narrowed: their older cursors are refused)."""

    __tablename__ = "sync_changes"
    # The log is derived from changes the audit log records already.
    __audited__: ClassVar[bool] = False
    __table_args__ = (
        # An object's later changes (only its latest is shown), and its departures.
        Index("ix_sync_changes_object_id_position", "object_id", "position"),
        # A person's resets after a cursor.
        Index("ix_sync_changes_user_id_op_position", "user_id", "op", "position"),
        # The prune job.
        Index("ix_sync_changes_changed_at", "changed_at"),
        # Positions are never handed out twice, even after the newest row is pruned.
        {"sqlite_autoincrement": True},
    )

    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    #: The object's client (None for departures and resets: the person may no longer reach it).
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[uuid.UUID]
    op: Mapped[str] = mapped_column(String(8))
    #: The object's locale, if it has one (who may see its tombstone).
    locale_id: Mapped[uuid.UUID | None]
    #: The person a personal object belongs to; for ``depart`` and ``reset``, who it is for.
    user_id: Mapped[uuid.UUID | None]
    #: For a ``depart`` of a vendor's work: the vendor whose admins stop reaching the object.
    vendor_id: Mapped[uuid.UUID | None]
    changed_at: Mapped[datetime]
