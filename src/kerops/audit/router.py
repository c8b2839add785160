"""Routes under /audit-logs (read only: the log is append-only and written automatically)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from kerops.audit import service
from kerops.audit.models import AuditLog
from kerops.audit.schemas import AuditAction, AuditLogRead
from kerops.core.deps import PrincipalDep, SessionDep
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.schemas import ApiDateTime

router = APIRouter(prefix="/audit-logs", tags=["audit"])

AuditPage = Annotated[PageParams, sorted_by(service.SORT_FIELDS)]


@router.get("", response_model=Page[AuditLogRead])
async def list_audit_logs(
    principal: PrincipalDep,
    session: SessionDep,
    page: AuditPage,
    table_name: Annotated[str | None, Query(max_length=64)] = None,
    record_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: uuid.UUID | None = None,
    action: AuditAction | None = None,
    locale_id: uuid.UUID | None = None,
    occurred_from: Annotated[
        ApiDateTime | None, Query(description="From this time on (inclusive, with offset)")
    ] = None,
    occurred_to: Annotated[
        ApiDateTime | None, Query(description="Before this time (exclusive, with offset)")
    ] = None,
) -> Page[AuditLogRead]:
    """Audit rows, newest first: all for platform staff, their client's for a client owner.

    Sort: ``id`` (time-ordered) or ``occurred_at``, ``-`` for descending; default ``-id``.
    """
    filters = service.AuditFilters(
        table_name=table_name,
        record_id=record_id,
        actor_user_id=actor_user_id,
        action=action,
        locale_id=locale_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    rows, cursor = await service.list_audit_logs(session, principal, params=page, filters=filters)
    return Page(items=[AuditLogRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{log_id}", response_model=AuditLogRead)
async def get_audit_log(
    principal: PrincipalDep, session: SessionDep, log_id: uuid.UUID
) -> AuditLog:
    """One audit row."""
    return await service.get_audit_log(session, principal, log_id=log_id)
