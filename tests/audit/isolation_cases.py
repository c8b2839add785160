"""Isolation cases of the audit log routes."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from tests.isolation import Case, World

P = "/api/v1"


def _a_audit_rows(w: World) -> list[uuid.UUID]:
    """The ids of client A's audit rows (its sign-up, locale, members...), remembered as A's."""

    def load() -> list[uuid.UUID]:
        async def ids(session: AsyncSession) -> list[uuid.UUID]:
            stmt = select(AuditLog.id).where(AuditLog.client_id == w.a_owner.client_id)
            return list((await session.execute(stmt)).scalars().all())

        found: list[uuid.UUID] = w.run(ids)
        assert found, "client A must have audit rows for this case to mean anything"
        w.remember(*found)
        return found

    rows: list[uuid.UUID] = w.once("a_audit_rows", load)
    return rows


def _no_params_but_remember_a_rows(w: World) -> dict[str, str]:
    _a_audit_rows(w)
    return {}


CASES = {
    # B's owner sees only B's rows; members, technicians and vendor admins get 403.
    ("GET", f"{P}/audit-logs"): Case(
        params=_no_params_but_remember_a_rows,
        query=lambda w: {"limit": 200},
        kind="list",
    ),
    ("GET", f"{P}/audit-logs/{{log_id}}"): Case(params=lambda w: {"log_id": _a_audit_rows(w)[0]}),
}
