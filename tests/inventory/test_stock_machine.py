"""Stock is the sum of its movements after any sequence of operations: a hypothesis state
machine of receipts, issues (negative adjustments), transfers, counts and reservations, checked
against a model after every step and by ``ledger.verify`` at the end."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import MovementDocument, MovementKind, ProductCategory
from kerops.core.errors import Conflict
from kerops.inventory import ledger
from kerops.inventory.models import InventoryStock, Product
from tests.fixtures.assets import _insert
from tests.fixtures.factories import Account, Runner, register_owner
from tests.fixtures.inventory import make_warehouse
from tests.inventory.stores import adjust, post

QUANTITIES = st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(2), Decimal("3.25")])
SLOTS = st.integers(min_value=0, max_value=1)
Key = tuple[uuid.UUID, uuid.UUID]


class StockMachine(RuleBasedStateMachine):
    """Two warehouses and two products of one client; the model holds on hand and reserved."""

    client: TestClient
    run: Runner
    owner: Account

    @initialize()
    def setup(self) -> None:
        client_id = self.owner.client_id
        assert client_id is not None
        self.warehouses = [make_warehouse(self.run, client_id) for _ in range(2)]
        self.products = [
            _insert(
                self.run,
                Product,
                client_id=client_id,
                sku=f"M-{uuid.uuid4().hex[:8]}",
                name="Cable",
                category=ProductCategory.spare_part,
                unit="m",
            )
            for _ in range(2)
        ]
        self.model: dict[Key, list[Decimal]] = {}

    def _row(self, w: int, p: int) -> list[Decimal]:
        return self.model.setdefault((self.warehouses[w], self.products[p]), [Decimal(0)] * 2)

    def _available(self, w: int, p: int) -> Decimal:
        on_hand, reserved = self._row(w, p)
        return on_hand - reserved

    @rule(w=SLOTS, p=SLOTS, quantity=QUANTITIES, cost=st.integers(0, 5000))
    def receive(self, w: int, p: int, quantity: Decimal, cost: int) -> None:
        async def put(session: AsyncSession) -> None:
            await ledger.move(
                session,
                client_id=self.owner.client_id,  # type: ignore[arg-type]
                warehouse_id=self.warehouses[w],
                product_id=self.products[p],
                kind=MovementKind.receipt,
                quantity=quantity,
                document_kind=MovementDocument.adjustment,
                document_id=None,
                actor_id=None,
                unit_cost_minor=cost,
            )

        self.run(put)
        self._row(w, p)[0] += quantity

    @rule(w=SLOTS, p=SLOTS, quantity=QUANTITIES)
    def issue(self, w: int, p: int, quantity: Decimal) -> None:
        response = adjust(self.client, self.owner, self.warehouses[w], self.products[p], -quantity)
        if self._available(w, p) >= quantity:
            assert response.status_code == 201, response.text
            self._row(w, p)[0] -= quantity
        else:
            assert response.json()["code"] == "insufficient_stock", response.text

    @rule(p=SLOTS, quantity=QUANTITIES, forward=st.booleans())
    def transfer(self, p: int, quantity: Decimal, forward: bool) -> None:
        w, to = (0, 1) if forward else (1, 0)
        body = {
            "from_warehouse_id": str(self.warehouses[w]),
            "to_warehouse_id": str(self.warehouses[to]),
            "lines": [{"product_id": str(self.products[p]), "quantity": str(quantity)}],
        }
        response = post(self.client, self.owner, "/inventory/transfers", body)
        if self._available(w, p) >= quantity:
            assert response.status_code == 201, response.text
            self._row(w, p)[0] -= quantity
            self._row(to, p)[0] += quantity
        else:
            assert response.json()["code"] == "insufficient_stock", response.text

    @rule(w=SLOTS, p=SLOTS, counted=st.sampled_from([Decimal(0), Decimal("1.5"), Decimal(4)]))
    def count(self, w: int, p: int, counted: Decimal) -> None:
        start = {"warehouse_id": str(self.warehouses[w]), "product_ids": [str(self.products[p])]}
        made = post(self.client, self.owner, "/inventory/counts", start)
        assert made.status_code == 201, made.text
        url = f"/api/v1/inventory/counts/{made.json()['id']}"
        lines = {"lines": [{"product_id": str(self.products[p]), "counted": str(counted)}]}
        assert self.client.put(f"{url}/lines", json=lines, headers=self.owner.headers).is_success
        posted = self.client.post(f"{url}/post", headers=self.owner.headers)
        on_hand, reserved = self._row(w, p)
        if counted >= reserved or counted >= on_hand:
            assert posted.status_code == 200, posted.text
            self._row(w, p)[0] = counted
        else:
            assert posted.json()["code"] == "insufficient_stock", posted.text

    @rule(w=SLOTS, p=SLOTS, quantity=QUANTITIES)
    def reserve(self, w: int, p: int, quantity: Decimal) -> None:
        async def hold(session: AsyncSession) -> bool:
            try:
                await ledger.reserve(
                    session,
                    warehouse_id=self.warehouses[w],
                    product_id=self.products[p],
                    quantity=quantity,
                )
            except Conflict:
                return False
            return True

        held = self.run(hold)
        assert held == (self._available(w, p) >= quantity)
        if held:
            self._row(w, p)[1] += quantity

    @rule(w=SLOTS, p=SLOTS, quantity=QUANTITIES)
    def release(self, w: int, p: int, quantity: Decimal) -> None:
        async def give_back(session: AsyncSession) -> None:
            await ledger.release(
                session,
                warehouse_id=self.warehouses[w],
                product_id=self.products[p],
                quantity=quantity,
            )

        self.run(give_back)
        row = self._row(w, p)
        row[1] = max(row[1] - quantity, Decimal(0))

    @invariant()
    def stock_matches_the_model(self) -> None:
        if not hasattr(self, "model"):
            return

        async def rows(session: AsyncSession) -> list[Any]:
            stmt = select(
                InventoryStock.warehouse_id,
                InventoryStock.product_id,
                InventoryStock.on_hand,
                InventoryStock.reserved,
            ).where(InventoryStock.warehouse_id.in_(self.warehouses))
            return list((await session.execute(stmt)).all())

        found = {(w, p): [h, r] for w, p, h, r in self.run(rows)}
        for on_hand, reserved in found.values():
            assert on_hand >= 0 and 0 <= reserved <= on_hand
        expected = {key: value for key, value in self.model.items() if value != [0, 0]}
        assert {k: v for k, v in found.items() if v != [0, 0]} == expected

    def teardown(self) -> None:
        if hasattr(self, "model"):
            assert self.run(lambda s: ledger.verify(s, client_id=self.owner.client_id)) == []


def test_stock_is_the_sum_of_its_movements(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)

    class Machine(StockMachine):
        pass

    Machine.client, Machine.owner = client, owner
    Machine.run = staticmethod(run)  # type: ignore[assignment]
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=10,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
