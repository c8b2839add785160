"""Isolation cases of the SLA policy routes: A's client-wide policy."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.types import utcnow, uuid7
from kerops.operations.models import SlaPolicy
from tests.isolation import Case, World

P = "/api/v1"
POLICY = "/sla-policies/{policy_id}"

TARGETS = {
    priority: {"response_minutes": 60, "resolution_minutes": 240}
    for priority in ("critical", "high", "medium", "low")
}


def _policy(w: World) -> uuid.UUID:
    """A's client-wide policy (a Core insert: no audit row while the harness counts A's)."""

    def make() -> uuid.UUID:
        policy_id = uuid7()
        now = utcnow()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(SlaPolicy).values(
                    id=policy_id,
                    client_id=w.a_owner.client_id,
                    locale_id=None,
                    name="A: tiendas",
                    targets=TARGETS,
                    warning_percent=75,
                    created_at=now,
                    updated_at=now,
                )
            )

        w.run(create)
        w.remember(policy_id)
        return policy_id

    policy_id: uuid.UUID = w.once("sla_policy", make)
    return policy_id


def _no_query(w: World) -> dict[str, Any]:
    _policy(w)
    return {}


def _params(w: World) -> dict[str, Any]:
    return {"policy_id": _policy(w)}


CASES = {
    # A policy for A's locale, or naming A's client.
    ("POST", f"{P}/sla-policies"): Case(
        body=lambda w: {
            "name": "Intrusa",
            "targets": TARGETS,
            "locale_id": str(w.a_locale),
            "client_id": str(w.a_owner.client_id),
        },
    ),
    ("GET", f"{P}/sla-policies"): Case(kind="list", query=_no_query),
    ("GET", f"{P}{POLICY}"): Case(params=_params),
    ("PATCH", f"{P}{POLICY}"): Case(params=_params, body=lambda w: {"warning_percent": 99}),
    ("DELETE", f"{P}{POLICY}"): Case(params=_params),
}
