"""Schemas of the audit log."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from kerops.core.schemas import ReadModel


class AuditAction(enum.StrEnum):
    """What happened to the record."""

    create = "create"
    update = "update"
    delete = "delete"
    export = "export"  # a list or report exported (kerops.reports)


class AuditLogRead(ReadModel):
    """One audited change: who, what, which record, before/after, when, from where."""

    id: uuid.UUID
    occurred_at: datetime
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    action: AuditAction
    table_name: str
    record_id: str
    changes: dict[str, Any]
    client_id: uuid.UUID | None
    locale_id: uuid.UUID | None
    request_id: str | None
    ip_address: str | None
