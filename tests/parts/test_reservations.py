"""A ticket's reservations: held from the asset's parts list or given lines, all or nothing,
consumed by issues, released by hand or by cancelling, issued by completing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus
from kerops.inventory import ledger
from kerops.operations.models import ServiceTicket
from tests.fixtures.assets import make_asset, make_bom_line, make_product, make_ticket
from tests.fixtures.factories import Runner
from tests.fixtures.inventory import receive
from tests.fixtures.operations import move
from tests.fixtures.parts import API, Stores, issue, make_stores, stock_of


def _reserve(client: TestClient, s: Stores, **body: object) -> Any:
    url = f"{API}/tickets/{s.ticket}/reservations"
    return client.post(url, json=body, headers=s.owner.headers)


def _holds(client: TestClient, s: Stores) -> list[dict[str, object]]:
    url = f"{API}/tickets/{s.ticket}/reservations"
    found: list[dict[str, object]] = client.get(url, headers=s.owner.headers).json()["items"]
    return found


def test_without_lines_the_assets_parts_list_is_held(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    asset = make_asset(run, s.client_id, s.locale)
    make_bom_line(run, s.client_id, s.locale, asset, s.product, quantity=2)

    async def on_asset(session: AsyncSession) -> None:
        await session.execute(
            update(ServiceTicket).where(ServiceTicket.id == s.ticket).values(asset_id=asset)
        )

    run(on_asset)
    response = _reserve(client, s, warehouse_id=str(s.central))
    assert response.status_code == 201, response.text
    [held] = response.json()
    assert held["product_id"] == str(s.product) and held["quantity"] == "2"
    assert held["status"] == "active"
    assert stock_of(run, s.central, s.product) == (Decimal(10), Decimal(2))
    assert [h["id"] for h in _holds(client, s)] == [held["id"]]


def test_without_lines_or_parts_list_is_422(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    response = _reserve(client, s, warehouse_id=str(s.central))
    assert response.status_code == 422
    assert response.json()["code"] == "no_parts_list"


def test_a_short_line_holds_nothing(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    scarce = make_product(run, s.client_id)
    receive(run, s.client_id, s.central, scarce, 1)
    response = _reserve(
        client,
        s,
        warehouse_id=str(s.central),
        lines=[
            {"product_id": str(s.product), "quantity": 2},
            {"product_id": str(scarce), "quantity": 3},
        ],
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["product_id"] == str(scarce) and body["available"] == "1"
    assert stock_of(run, s.central, s.product) == (Decimal(10), Decimal(0))
    assert _holds(client, s) == []


def test_an_issue_consumes_the_hold(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, stock=3)
    lines = [{"product_id": str(s.product), "quantity": 2}]
    assert _reserve(client, s, lines=lines).status_code == 201
    assert stock_of(run, s.van, s.product) == (Decimal(3), Decimal(2))
    # One unit is free: two more than that cannot be issued by someone else's ticket ...
    other = make_ticket(run, s.client_id, s.locale, None, TicketStatus.in_progress, s.technician.id)
    short = issue(client, s.owner, other, product_id=s.product, quantity=2)
    assert short.status_code == 409 and short.json()["available"] == "1"
    # ... but this ticket takes what it holds first.
    assert issue(client, s.owner, s.ticket, product_id=s.product, quantity=1).status_code == 201
    [hold] = _holds(client, s)
    assert hold["status"] == "active" and hold["quantity"] == "1"
    assert stock_of(run, s.van, s.product) == (Decimal(2), Decimal(1))
    assert issue(client, s.owner, s.ticket, product_id=s.product, quantity=2).status_code == 201
    assert [h["status"] for h in _holds(client, s)] == ["consumed"]
    assert stock_of(run, s.van, s.product) == (Decimal(0), Decimal(0))


def test_a_hold_is_released_once(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    lines = [{"product_id": str(s.product), "quantity": 4}]
    [held] = _reserve(client, s, lines=lines).json()
    url = f"{API}/tickets/{s.ticket}/reservations/{held['id']}"
    assert client.delete(url, headers=s.owner.headers).status_code == 204
    assert stock_of(run, s.van, s.product) == (Decimal(10), Decimal(0))
    again = client.delete(url, headers=s.owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "reservation_not_active"
    active = client.get(
        f"{API}/tickets/{s.ticket}/reservations?status=active", headers=s.owner.headers
    )
    assert active.json()["items"] == []


def test_cancelling_the_ticket_releases_its_holds(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, status=TicketStatus.open)
    lines = [{"product_id": str(s.product), "quantity": 3}]
    assert _reserve(client, s, warehouse_id=str(s.central), lines=lines).status_code == 201
    assert move(client, s.owner, s.ticket, "cancelled", "No hace falta").status_code == 200
    assert [h["status"] for h in _holds(client, s)] == ["released"]
    assert stock_of(run, s.central, s.product) == (Decimal(10), Decimal(0))


def test_completing_the_ticket_issues_its_holds(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, status=TicketStatus.resolved)
    lines = [{"product_id": str(s.product), "quantity": 3}]
    assert _reserve(client, s, warehouse_id=str(s.central), lines=lines).status_code == 201
    completed = move(client, s.owner, s.ticket, "completed")
    assert completed.status_code == 200, completed.text
    assert completed.json()["parts_cost_minor"] == 3000
    assert [h["status"] for h in _holds(client, s)] == ["consumed"]
    assert stock_of(run, s.central, s.product) == (Decimal(7), Decimal(0))
    used = client.get(f"{API}/tickets/{s.ticket}/parts", headers=s.owner.headers).json()
    assert used["lines"][0]["issued"] == "3" and used["total_cost_minor"] == 3000
    assert run(lambda session: ledger.verify(session)) == []
