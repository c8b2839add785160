"""The ledger's core: stock changes only with a movement, decreases are conditional, the
average cost is weighted, and the stock rows add up to their movements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import MovementDocument, MovementKind
from kerops.core.errors import Conflict
from kerops.core.types import quantity_from_stored, quantity_to_stored
from kerops.inventory import ledger
from kerops.inventory.models import InventoryMovement
from tests.fixtures.assets import make_product
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.inventory import make_warehouse, receive


def test_quantities_are_exact_thousandths() -> None:
    assert quantity_to_stored(Decimal("2.5")) == 2500
    assert quantity_from_stored(2500) == Decimal("2.5")
    assert str(quantity_from_stored(50_000)) == "50"
    assert str(quantity_from_stored(-1)) == "-0.001"
    with pytest.raises(ValueError):
        quantity_to_stored(Decimal("0.0001"))


def test_receipts_average_the_cost_and_issues_take_it(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    warehouse = make_warehouse(run, owner.client_id)
    product = make_product(run, owner.client_id)
    receive(run, owner.client_id, warehouse, product, 10, unit_cost_minor=1000)
    moved = receive(run, owner.client_id, warehouse, product, 5, unit_cost_minor=1300)
    # (10 * 1000 + 5 * 1300) / 15 = 1100
    assert moved.on_hand == 15 and moved.average_cost_minor == 1100

    async def issue(session: AsyncSession) -> ledger.Moved:
        return await ledger.move(
            session,
            client_id=owner.client_id,  # type: ignore[arg-type]
            warehouse_id=warehouse,
            product_id=product,
            kind=MovementKind.issue,
            quantity=Decimal("-2.5"),
            document_kind=MovementDocument.ticket,
            document_id=None,
            actor_id=owner.id,
        )

    issued = run(issue)
    assert issued.on_hand == Decimal("12.5") and issued.unit_cost_minor == 1100
    assert run(lambda s: ledger.verify(s)) == []


def test_a_decrease_beyond_the_available_is_refused(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    warehouse = make_warehouse(run, owner.client_id)
    product = make_product(run, owner.client_id)
    receive(run, owner.client_id, warehouse, product, 3)

    async def hold_and_take(session: AsyncSession) -> None:
        await ledger.reserve(
            session, warehouse_id=warehouse, product_id=product, quantity=Decimal(2)
        )
        await ledger.move(
            session,
            client_id=owner.client_id,  # type: ignore[arg-type]
            warehouse_id=warehouse,
            product_id=product,
            kind=MovementKind.issue,
            quantity=Decimal(-2),
            document_kind=MovementDocument.ticket,
            document_id=None,
            actor_id=None,
        )

    with pytest.raises(Conflict) as caught:
        run(hold_and_take)
    assert caught.value.code == "insufficient_stock"
    assert caught.value.extra["available"] == "1"
    assert run(lambda s: ledger.available(s, warehouse_id=warehouse, product_id=product)) == 3


def test_the_ledger_refuses_changes(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    warehouse = make_warehouse(run, owner.client_id)
    product = make_product(run, owner.client_id)
    moved = receive(run, owner.client_id, warehouse, product, 1)
    for statement in (
        update(InventoryMovement)
        .where(InventoryMovement.id == moved.movement_id)
        .values(reason="x"),
        delete(InventoryMovement).where(InventoryMovement.id == moved.movement_id),
    ):

        async def change(session: AsyncSession, statement: object = statement) -> None:
            await session.execute(statement)  # type: ignore[call-overload]

        with pytest.raises(DBAPIError):
            run(change)
