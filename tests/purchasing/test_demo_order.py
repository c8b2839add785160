"""The demo's purchase order: Acme's, placed and partly received through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops import demo
from kerops.core.enums import PurchaseOrderStatus
from kerops.inventory import ledger
from kerops.inventory.models import InventoryStock
from kerops.purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine
from tests.fixtures.factories import Runner


def test_the_demo_has_a_partly_received_order(client: TestClient, run: Runner) -> None:
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def load(session: AsyncSession) -> bool:
        return await demo.load_demo(session, state)

    assert run(load) is True

    async def read(session: AsyncSession) -> dict[str, Any]:
        order = (await session.execute(select(PurchaseOrder))).scalar_one()
        lines = (await session.execute(select(PurchaseOrderLine))).scalars().all()
        stock = (await session.execute(select(InventoryStock))).scalars().all()
        moves = (await session.execute(select(PurchaseOrderEvent.to_status))).scalars().all()
        return {
            "status": order.status,
            "received": sorted((line.received, line.quantity) for line in lines),
            "on_order": sum(row.on_order for row in stock),
            "moves": list(moves),
            "differences": await ledger.verify(session),
        }

    found = run(read)
    assert found["status"] is PurchaseOrderStatus.partially_received
    assert found["received"] == [(2, 2), (12, 20)]
    assert found["on_order"] == Decimal(8)
    assert found["moves"] == ["draft", "submitted", "approved", "ordered", "partially_received"]
    assert found["differences"] == []
