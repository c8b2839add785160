"""Never negative under concurrency: 200 requests at once, each taking one unit of a stock of
50, through the API in the app's own loop (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.types import quantity_from_stored
from kerops.inventory import ledger
from kerops.inventory.models import InventoryMovement, InventoryStock
from tests.fixtures.assets import make_product
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.inventory import make_warehouse, receive

REQUESTS = 200
STOCK = 50


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Requests wait for a pooled connection as long as the queue of 200 may take on a busy
    machine (the default 10 s would answer some with 503)."""
    return {"database_pool_timeout_seconds": 120.0}


def test_concurrent_decreases_take_exactly_the_stock(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    warehouse = make_warehouse(run, owner.client_id)
    product = make_product(run, owner.client_id)
    receive(run, owner.client_id, warehouse, product, STOCK)
    body = {
        "warehouse_id": str(warehouse),
        "product_id": str(product),
        "quantity": "-1",
        "reason": "consumo",
    }

    async def all_at_once() -> list[tuple[int, Any]]:
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as http:

            async def one() -> tuple[int, Any]:
                response = await http.post(
                    "/api/v1/inventory/adjustments", json=body, headers=owner.headers
                )
                return response.status_code, response.json()

            return list(await asyncio.gather(*(one() for _ in range(REQUESTS))))

    answers = client.portal.call(all_at_once)  # type: ignore[union-attr]
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: STOCK, 409: REQUESTS - STOCK}, [a for a in answers if a[0] >= 500][:3]
    refused = [answer for status, answer in answers if status == 409]
    assert {answer["code"] for answer in refused} == {"insufficient_stock"}
    assert all("available" in answer for answer in refused)

    async def totals(session: AsyncSession) -> tuple[Decimal, Decimal, int]:
        on_hand = (
            await session.execute(
                select(InventoryStock.on_hand).where(InventoryStock.warehouse_id == warehouse)
            )
        ).scalar_one()
        raw = type_coerce(InventoryMovement.quantity, BigInteger())
        taken = (
            await session.execute(
                select(func.sum(raw), func.count()).where(
                    InventoryMovement.warehouse_id == warehouse, raw < 0
                )
            )
        ).one()
        return on_hand, -quantity_from_stored(int(taken[0])), int(taken[1])

    on_hand, taken, movements = run(totals)
    assert on_hand == 0 and taken == STOCK and movements == STOCK
    assert run(lambda s: ledger.verify(s, client_id=owner.client_id)) == []
