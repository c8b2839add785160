"""Reading the append-only audit log (it is written by ``kerops.core.audit`` only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.audit.schemas import AuditAction
from kerops.core import access
from kerops.core.errors import Forbidden, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal

SORT_FIELDS = {"id": AuditLog.id, "occurred_at": AuditLog.occurred_at}


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """The filters of the audit log list (all optional, combined with AND)."""

    table_name: str | None = None
    record_id: str | None = None
    actor_user_id: uuid.UUID | None = None
    action: AuditAction | None = None
    locale_id: uuid.UUID | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


def ensure_can_read(principal: Principal) -> None:
    """Only platform staff and client owners read the audit log; for anyone else it is a 403."""
    if not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(gettext("Only platform staff and client owners can read the audit log."))


async def list_audit_logs(
    session: AsyncSession, principal: Principal, *, params: PageParams, filters: AuditFilters
) -> tuple[Sequence[AuditLog], str | None]:
    """One page of the audit rows the caller may read, newest first by default."""
    ensure_can_read(principal)
    if (
        filters.occurred_from is not None
        and filters.occurred_to is not None
        and filters.occurred_to < filters.occurred_from
    ):
        raise Unprocessable(
            gettext("occurred_to is before occurred_from."),
            errors=[
                field_error(
                    ("query", "occurred_to"), gettext("must not be before occurred_from"), "range"
                )
            ],
        )
    stmt = access.scoped(select(AuditLog), AuditLog, principal)
    if filters.table_name is not None:
        stmt = stmt.where(AuditLog.table_name == filters.table_name)
    if filters.record_id is not None:
        stmt = stmt.where(AuditLog.record_id == filters.record_id)
    if filters.actor_user_id is not None:
        stmt = stmt.where(AuditLog.actor_user_id == filters.actor_user_id)
    if filters.action is not None:
        stmt = stmt.where(AuditLog.action == filters.action.value)
    if filters.locale_id is not None:
        stmt = stmt.where(AuditLog.locale_id == filters.locale_id)
    if filters.occurred_from is not None:
        stmt = stmt.where(AuditLog.occurred_at >= filters.occurred_from)
    if filters.occurred_to is not None:
        stmt = stmt.where(AuditLog.occurred_at < filters.occurred_to)
    return await paginate(
        session, stmt, params, sort_fields=SORT_FIELDS, id_column=AuditLog.id, default_sort="-id"
    )


async def get_audit_log(
    session: AsyncSession, principal: Principal, *, log_id: uuid.UUID
) -> AuditLog:
    """One audit row the caller may read, or 404."""
    ensure_can_read(principal)
    return await access.get_scoped(session, AuditLog, log_id, principal)
