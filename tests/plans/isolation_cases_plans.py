"""Isolation cases of assets' maintenance plans, aimed at client A's asset and plan.

A's asset and plan are inserted with Core statements (no audit rows): cases are aimed while the
harness is already counting A's audit rows.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset, AssetMaintenancePlan
from kerops.core.types import utcnow, uuid7
from tests.fixtures.plans import date_plan_body
from tests.isolation import Case, World

P = "/api/v1"
PLANS = "/assets/{asset_id}/maintenance-plans"
PLAN = f"{PLANS}/{{plan_id}}"


def _ids(w: World) -> dict[str, Any]:
    """A's asset and plan (created once per world)."""

    def make() -> dict[str, Any]:
        asset_id, plan_id = uuid7(), uuid7()
        now = utcnow()

        async def insert_rows(session: AsyncSession) -> None:
            common = {"client_id": w.a_owner.client_id, "locale_id": w.a_locale}
            await session.execute(
                insert(Asset).values(
                    id=asset_id,
                    name="A Caldera",
                    qr_code=f"QR-A-{uuid.uuid4().hex[:12]}",
                    meter_readings={},
                    created_at=now,
                    updated_at=now,
                    **common,
                )
            )
            await session.execute(
                insert(AssetMaintenancePlan).values(
                    id=plan_id,
                    asset_id=asset_id,
                    name="A Plan",
                    trigger="date",
                    interval_unit="month",
                    interval_count=1,
                    anchor="calendar",
                    start_date=date(2026, 1, 31),
                    checklist_template=[],
                    default_assignee_id=w.a_technician.id,
                    next_due_at=now,
                    created_at=now,
                    updated_at=now,
                    **common,
                )
            )

        w.run(insert_rows)
        w.remember(asset_id, plan_id)
        return {"asset_id": asset_id, "plan_id": plan_id}

    ids: dict[str, Any] = w.once("plans_asset_and_plan", make)
    return ids


def _asset(w: World) -> dict[str, Any]:
    return {"asset_id": _ids(w)["asset_id"]}


CASES = {
    # A plan on A's asset, assigned to A's technician.
    ("POST", f"{P}{PLANS}"): Case(
        params=_asset,
        body=lambda w: date_plan_body(default_assignee_id=str(w.a_technician.id)),
    ),
    ("GET", f"{P}{PLANS}"): Case(params=_asset, kind="list"),
    ("GET", f"{P}{PLAN}"): Case(params=_ids),
    ("PATCH", f"{P}{PLAN}"): Case(
        params=_ids, body=lambda w: {"name": "Hacked", "is_active": False}
    ),
    ("DELETE", f"{P}{PLAN}"): Case(params=_ids),
    ("GET", f"{P}{PLAN}/preview"): Case(params=_ids, query=lambda w: {"count": 3}),
}
