"""The append-only audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.models import Base, IdMixin
from kerops.core.types import utcnow


class AuditLog(IdMixin, Base):
    """One create, update or delete: who, what, which record, before/after, when, from where."""

    __tablename__ = "audit_logs"
    __audited__: ClassVar[bool] = False
    __table_args__ = (
        Index("ix_audit_logs_client_id_id", "client_id", "id"),
        Index("ix_audit_logs_table_name_record_id", "table_name", "record_id"),
    )

    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_api_key_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(16))
    table_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client_id: Mapped[uuid.UUID | None]
    locale_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
