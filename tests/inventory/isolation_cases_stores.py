"""Isolation cases of the stores, aimed at client A's warehouses, stock, movements, transfer
and count (Core inserts and ledger moves: no audit rows)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import MovementDocument, MovementKind
from kerops.inventory import ledger
from kerops.inventory.models import InventoryTransfer, StockCount, StockCountLine
from tests.fixtures.assets import _insert, make_product
from tests.fixtures.inventory import make_warehouse, receive
from tests.isolation import Case, World

P = "/api/v1"
WAREHOUSE = "/warehouses/{warehouse_id}"
STOCK = "/inventory/stock/{stock_id}"
COUNT = "/inventory/counts/{count_id}"


def _transfer(w: World, client_id: uuid.UUID, objects: dict[str, uuid.UUID]) -> uuid.UUID:
    transfer = _insert(
        w.run,
        InventoryTransfer,
        client_id=client_id,
        from_warehouse_id=objects["warehouse"],
        to_warehouse_id=objects["other"],
        note="",
    )

    async def both_legs(session: AsyncSession) -> None:
        common: dict[str, Any] = {
            "client_id": client_id,
            "product_id": objects["product"],
            "document_kind": MovementDocument.transfer,
            "document_id": transfer,
            "actor_id": None,
        }
        out = await ledger.move(
            session,
            warehouse_id=objects["warehouse"],
            kind=MovementKind.transfer_out,
            quantity=Decimal(-1),
            **common,
        )
        await ledger.move(
            session,
            warehouse_id=objects["other"],
            kind=MovementKind.transfer_in,
            quantity=Decimal(1),
            unit_cost_minor=out.unit_cost_minor,
            **common,
        )

    w.run(both_legs)
    return transfer


def stores_objects(w: World) -> dict[str, uuid.UUID]:
    """A's central store and a second one, a product with stock in the first, a transfer of
    one unit between them and an open count of the first."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        objects = {
            "warehouse": make_warehouse(w.run, client_id, code="A-CENTRAL"),
            "other": make_warehouse(w.run, client_id, code="A-SEGUNDA"),
            "product": make_product(w.run, client_id, "A-STOCK-1", "A Filtro"),
        }
        moved = receive(w.run, client_id, objects["warehouse"], objects["product"], 10)
        objects["stock"] = moved.stock_id
        objects["movement"] = moved.movement_id
        objects["transfer"] = _transfer(w, client_id, objects)
        objects["count"] = _insert(
            w.run, StockCount, client_id=client_id, warehouse_id=objects["warehouse"], note=""
        )
        objects["line"] = _insert(
            w.run,
            StockCountLine,
            client_id=client_id,
            count_id=objects["count"],
            product_id=objects["product"],
            expected=Decimal(9),
        )
        w.remember(*objects.values())
        return objects

    result: dict[str, uuid.UUID] = w.once("stores_objects", make)
    return result


def _warehouse(w: World) -> dict[str, Any]:
    return {"warehouse_id": stores_objects(w)["warehouse"]}


def _stock(w: World) -> dict[str, Any]:
    return {"stock_id": stores_objects(w)["stock"]}


def _count(w: World) -> dict[str, Any]:
    return {"count_id": stores_objects(w)["count"]}


def _existing(w: World) -> dict[str, Any]:
    stores_objects(w)
    return {}


def _ids(w: World, *keys: str) -> dict[str, str]:
    objects = stores_objects(w)
    return {f"{key}_id": str(objects[key]) for key in keys}


CASES = {
    # A storeroom in A's locale.
    ("POST", f"{P}/warehouses"): Case(
        body=lambda w: {
            "kind": "locale",
            "code": "INTRUSO",
            "name": "Intruso",
            "locale_id": str(w.a_locale),
        },
    ),
    ("GET", f"{P}/warehouses"): Case(params=_existing, kind="list"),
    ("GET", f"{P}{WAREHOUSE}"): Case(params=_warehouse),
    ("PATCH", f"{P}{WAREHOUSE}"): Case(params=_warehouse, body=lambda w: {"name": "Hacked"}),
    ("DELETE", f"{P}{WAREHOUSE}"): Case(params=_warehouse),
    ("GET", f"{P}/inventory/stock"): Case(params=_existing, kind="list"),
    ("PUT", f"{P}/inventory/stock"): Case(
        body=lambda w: {**_ids(w, "warehouse", "product"), "reorder_point": 5, "bin_location": "X"}
    ),
    ("GET", f"{P}{STOCK}"): Case(params=_stock),
    ("PATCH", f"{P}{STOCK}"): Case(params=_stock, body=lambda w: {"reorder_point": 99}),
    ("GET", f"{P}/inventory/movements"): Case(params=_existing, kind="list"),
    ("GET", f"{P}/inventory/movements/{{movement_id}}"): Case(
        params=lambda w: {"movement_id": stores_objects(w)["movement"]}
    ),
    ("POST", f"{P}/inventory/adjustments"): Case(
        body=lambda w: {**_ids(w, "warehouse", "product"), "quantity": -1, "reason": "robo"}
    ),
    ("POST", f"{P}/inventory/transfers"): Case(
        body=lambda w: {
            "from_warehouse_id": str(stores_objects(w)["warehouse"]),
            "to_warehouse_id": str(stores_objects(w)["other"]),
            "lines": [{"product_id": str(stores_objects(w)["product"]), "quantity": 1}],
        }
    ),
    ("GET", f"{P}/inventory/transfers"): Case(params=_existing, kind="list"),
    ("GET", f"{P}/inventory/transfers/{{transfer_id}}"): Case(
        params=lambda w: {"transfer_id": stores_objects(w)["transfer"]}
    ),
    ("POST", f"{P}/inventory/counts"): Case(body=lambda w: _ids(w, "warehouse")),
    ("GET", f"{P}/inventory/counts"): Case(params=_existing, kind="list"),
    ("GET", f"{P}{COUNT}"): Case(params=_count),
    ("PUT", f"{P}{COUNT}/lines"): Case(
        params=_count,
        body=lambda w: {"lines": [{"product_id": str(stores_objects(w)["product"]), "counted": 3}]},
    ),
    ("POST", f"{P}{COUNT}/post"): Case(params=_count),
    ("POST", f"{P}{COUNT}/cancel"): Case(params=_count),
    ("GET", f"{P}/inventory/valuation"): Case(params=_existing, kind="list"),
}
