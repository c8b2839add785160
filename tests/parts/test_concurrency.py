"""Under concurrency stock never goes negative nor is lost: 200 requests at once, each issuing
(or holding) one unit of a stock of 50, through the API on one app, as in production."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import MovementKind
from kerops.inventory import ledger
from kerops.inventory.models import InventoryMovement
from tests.conftest import as_platform
from tests.fixtures.factories import Runner
from tests.fixtures.parts import API, Stores, make_stores, stock_of

REQUESTS = 200
STOCK = 50


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The requests queue on one ticket's row (PostgreSQL: each holding a pooled connection
    while it waits, the rest waiting for one): on a busy test machine the queue may outlast
    the default wait for a connection, which would answer 503 instead of judging the stock."""
    return {"database_pool_timeout_seconds": 120}


def _at_once(client: TestClient, s: Stores, path: str, body: dict[str, Any]) -> list[Any]:
    """Send ``REQUESTS`` POSTs together to the app, in its own loop; their status and body."""

    async def all_together() -> list[Any]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

            async def one() -> tuple[int, dict[str, Any]]:
                response = await http.post(f"{API}{path}", json=body, headers=s.owner.headers)
                return response.status_code, response.json()

            return list(await asyncio.gather(*(one() for _ in range(REQUESTS))))

    answers: list[Any] = client.portal.call(as_platform(all_together))  # type: ignore[union-attr]
    return answers


def _refusals(answers: list[Any]) -> Counter[tuple[str, str]]:
    return Counter((body["code"], body["available"]) for status, body in answers if status == 409)


def test_concurrent_issues_take_exactly_the_stock(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, stock=STOCK)
    body = {"product_id": str(s.product), "quantity": "1", "warehouse_id": str(s.central)}
    answers = _at_once(client, s, f"/tickets/{s.ticket}/parts", body)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: STOCK, 409: REQUESTS - STOCK}, statuses
    assert _refusals(answers) == {("insufficient_stock", "0"): REQUESTS - STOCK}
    assert stock_of(run, s.central, s.product) == (Decimal(0), Decimal(0))

    async def issued(session: AsyncSession) -> Decimal:
        total = select(func.sum(InventoryMovement.quantity)).where(
            InventoryMovement.document_id == s.ticket, InventoryMovement.kind == MovementKind.issue
        )
        return Decimal((await session.execute(total)).scalar_one())

    assert run(issued) == -STOCK
    assert run(lambda session: ledger.verify(session)) == []
    used = client.get(f"{API}/tickets/{s.ticket}/parts", headers=s.owner.headers).json()
    assert used["total_cost_minor"] == STOCK * 1000


def test_concurrent_holds_take_exactly_the_stock(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, stock=STOCK)
    body = {
        "warehouse_id": str(s.central),
        "lines": [{"product_id": str(s.product), "quantity": "1"}],
    }
    answers = _at_once(client, s, f"/tickets/{s.ticket}/reservations", body)
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: STOCK, 409: REQUESTS - STOCK}, statuses
    assert _refusals(answers) == {("insufficient_stock", "0"): REQUESTS - STOCK}
    assert stock_of(run, s.central, s.product) == (Decimal(STOCK), Decimal(STOCK))
