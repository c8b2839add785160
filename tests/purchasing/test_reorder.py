"""The reorder run: low stock rows become proposed drafts grouped by vendor and warehouse, once;
rows without a preferred vendor are skipped; each raises ``stock.low``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from kerops.events.models import Event
from kerops.inventory.models import InventoryStock
from tests.fixtures.assets import _insert
from tests.fixtures.inventory import make_warehouse, receive
from tests.purchasing.conftest import API, Shop, make_stocked_product, q


def _low(
    shop: Shop,
    sku: str,
    *,
    on_hand: int,
    point: str,
    quantity: str = "0",
    vendor: bool = True,
    unit: str = "unit",
    warehouse: uuid.UUID | None = None,
    product: uuid.UUID | None = None,
) -> uuid.UUID:
    """A product with stock ``on_hand`` and a reorder point (and quantity)."""
    if product is None:
        product = make_stocked_product(
            shop.run,
            shop.client_id,
            sku,
            unit=unit,
            cost=500,
            vendor=shop.vendor if vendor else None,
        )
    where = warehouse or shop.warehouse
    if on_hand:
        receive(shop.run, shop.client_id, where, product, on_hand)
    else:
        _insert(
            shop.run,
            InventoryStock,
            client_id=shop.client_id,
            warehouse_id=where,
            product_id=product,
        )

    async def set_point(session: Any) -> None:
        await session.execute(
            update(InventoryStock)
            .where(InventoryStock.warehouse_id == where, InventoryStock.product_id == product)
            .values(reorder_point=Decimal(point), reorder_quantity=Decimal(quantity))
        )

    shop.run(set_point)
    return product


def _reorder(shop: Shop) -> list[dict[str, Any]]:
    response = shop.client.post(f"{API}/inventory/reorder", headers=shop.manager.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def _events(shop: Shop) -> list[dict[str, Any]]:
    async def read(session: Any) -> list[dict[str, Any]]:
        found = await session.execute(select(Event).where(Event.type == "stock.low"))
        return [dict(e.payload) for e in found.scalars()]

    result: list[dict[str, Any]] = shop.run(read)
    return result


def test_low_rows_are_proposed_once_grouped_by_vendor_and_warehouse(shop: Shop) -> None:
    pump = _low(shop, "BOMBA", on_hand=3, point="5", quantity="20")
    cable = _low(shop, "CABLE", on_hand=4, point="10.5", unit="m")
    _low(shop, "SIN-PROV", on_hand=0, point="2", vendor=False)
    _low(shop, "LLENO", on_hand=50, point="5")
    van = make_warehouse(shop.run, shop.client_id, code="VAN-1")
    _low(shop, "BOMBA", on_hand=1, point="2", warehouse=van, product=pump)

    proposed = _reorder(shop)
    assert len(proposed) == 2
    assert all(o["proposed"] and o["status"] == "draft" for o in proposed)
    by_warehouse = {o["warehouse_id"]: o for o in proposed}
    central = shop.detail(by_warehouse[str(shop.warehouse)]["id"])
    lines = {line["product_id"]: line for line in central["lines"]}
    assert q(lines[str(pump)]["quantity"]) == 20
    # no reorder quantity: back to the point, 10.5 - 4 = 6.5 m
    assert q(lines[str(cable)]["quantity"]) == Decimal("6.5")
    assert lines[str(cable)]["unit_price_minor"] == 500
    # 20 * 500 + 6.5 * 500 = 13 250; IVA 2 517.5 → 2 518
    assert (central["net_minor"], central["tax_minor"]) == (13250, 2518)
    van_order = shop.detail(by_warehouse[str(van)]["id"])
    assert [q(line["quantity"]) for line in van_order["lines"]] == [1]

    low = _events(shop)
    assert sorted(e["sku"] for e in low) == ["BOMBA", "BOMBA", "CABLE", "SIN-PROV"]
    assert [e["order_id"] for e in low if e["sku"] == "SIN-PROV"] == [None]
    # dispatched to the notifications: the owner hears of it
    inbox = shop.client.get(f"{API}/notifications", headers=shop.owner.headers).json()["items"]
    assert "stock.low" in {n["type"] for n in inbox}

    # a second run proposes nothing new (the open proposals count)
    assert _reorder(shop) == []
    listed = shop.client.get(
        f"{API}/purchase-orders", params={"proposed": "true"}, headers=shop.owner.headers
    ).json()["items"]
    assert len(listed) == 2


def test_what_is_on_order_keeps_a_row_from_being_low(shop: Shop) -> None:
    product = _low(shop, "FILTRO", on_hand=2, point="5")
    line = {"product_id": str(product), "quantity": 3, "unit_price_minor": 100}
    order = shop.ordered(lines=[line])
    # 2 on hand + 3 on order <= 5, but the open line counts: nothing proposed
    assert _reorder(shop) == []
    shop.post(f"/purchase-orders/{order['id']}/cancel", reason="Sin stock")
    # 2 on hand + 0 on order <= 5 again, and no open line any more: proposed
    assert len(_reorder(shop)) == 1


def test_the_scheduled_job_proposes_for_every_client(shop: Shop) -> None:
    _low(shop, "BOMBA", on_hand=0, point="1")
    jobs = shop.client.app.state.kerops.jobs  # type: ignore[attr-defined]
    shop.client.portal.call(lambda: jobs.run("purchasing.reorder"))  # type: ignore[union-attr]
    listed = shop.client.get(
        f"{API}/purchase-orders", params={"proposed": "true"}, headers=shop.owner.headers
    ).json()["items"]
    assert len(listed) == 1
    assert _reorder(shop) == []
