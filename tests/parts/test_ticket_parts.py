"""Parts on tickets: issues and returns through the ledger, the ticket's parts cost, who may
issue from where, and the workflow's "parts recorded" requirement."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import LocalRole, TicketStatus, UserRole, WarehouseKind
from kerops.inventory import ledger
from kerops.inventory.models import Product
from kerops.operations.models import ServiceTicket, WorkflowStep
from kerops.operations.workflows import ensure_default_workflow
from tests.fixtures.assets import make_product, make_ticket
from tests.fixtures.factories import (
    Runner,
    add_member,
    make_locale,
    make_user,
    make_vendor,
    register_owner,
)
from tests.fixtures.inventory import make_warehouse, receive
from tests.fixtures.operations import move
from tests.fixtures.parts import API, issue, make_stores, stock_of


def _parts_cost(run: Runner, ticket: object) -> int:
    async def read(session: AsyncSession) -> int:
        found = select(ServiceTicket.parts_cost_minor).where(ServiceTicket.id == ticket)
        return int((await session.execute(found)).scalar_one())

    cost: int = run(read)
    return cost


def test_an_issue_takes_stock_and_sets_the_parts_cost(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    response = issue(
        client, s.owner, s.ticket, product_id=s.product, quantity=3, warehouse_id=s.central
    )
    assert response.status_code == 201, response.text
    line = response.json()
    assert line["kind"] == "issue" and line["quantity"] == "3"
    assert line["unit_cost_minor"] == 1000 and line["total_cost_minor"] == 3000
    assert line["parts_cost_minor"] == 3000
    assert stock_of(run, s.central, s.product) == (Decimal(7), Decimal(0))
    assert _parts_cost(run, s.ticket) == 3000
    used = client.get(f"{API}/tickets/{s.ticket}/parts", headers=s.owner.headers).json()
    assert used["total_cost_minor"] == 3000
    assert used["lines"] == [
        {
            "product_id": str(s.product),
            "warehouse_id": str(s.central),
            "issued": "3",
            "returned": "0",
            "net": "3",
            "cost_minor": 3000,
        }
    ]
    assert run(lambda session: ledger.verify(session)) == []


def test_an_issue_defaults_to_the_technicians_van(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    response = issue(client, s.technician, s.ticket, product_id=s.product, quantity=2)
    assert response.status_code == 201, response.text
    assert response.json()["warehouse_id"] == str(s.van)
    assert stock_of(run, s.van, s.product) == (Decimal(8), Decimal(0))


def test_no_van_and_no_warehouse_is_422(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    unassigned = make_ticket(run, s.client_id, s.locale, None, status=TicketStatus.open)
    response = issue(client, s.owner, unassigned, product_id=s.product, quantity=1)
    assert response.status_code == 422 and response.json()["code"] == "no_warehouse"


def test_more_than_available_is_409_naming_what_is(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, stock=2)
    response = issue(
        client, s.owner, s.ticket, product_id=s.product, quantity=3, warehouse_id=s.central
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock" and response.json()["available"] == "2"
    assert stock_of(run, s.central, s.product) == (Decimal(2), Decimal(0))
    assert _parts_cost(run, s.ticket) == 0


def test_a_closed_ticket_takes_no_parts(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run, status=TicketStatus.completed)
    response = issue(
        client, s.owner, s.ticket, product_id=s.product, quantity=1, warehouse_id=s.central
    )
    assert response.status_code == 409 and response.json()["code"] == "ticket_closed"


def test_bad_quantities_are_422(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    for quantity in ("0", "-1", "abc"):
        response = issue(client, s.owner, s.ticket, product_id=s.product, quantity=quantity)
        assert response.status_code == 422, quantity
    response = issue(client, s.owner, s.ticket, product_id=s.product, quantity="1.5")
    assert response.status_code == 422 and response.json()["code"] == "too_many_decimals"

    async def metres(session: AsyncSession) -> None:
        await session.execute(update(Product).where(Product.id == s.product).values(unit="m"))

    run(metres)
    response = issue(
        client, s.owner, s.ticket, product_id=s.product, quantity="1.25", warehouse_id=s.central
    )
    assert response.status_code == 201 and response.json()["total_cost_minor"] == 1250
    response = issue(
        client, s.owner, s.ticket, product_id=s.product, quantity="0.125", warehouse_id=s.central
    )
    assert response.json()["code"] == "too_many_decimals"
    assert stock_of(run, s.central, s.product) == (Decimal("8.75"), Decimal(0))


def test_a_service_product_is_not_issued(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)

    async def service(session: AsyncSession) -> None:
        await session.execute(
            update(Product).where(Product.id == s.product).values(is_stocked=False)
        )

    run(service)
    response = issue(
        client, s.owner, s.ticket, product_id=s.product, quantity=1, warehouse_id=s.central
    )
    assert response.status_code == 422 and response.json()["code"] == "not_stocked"


def test_a_return_gives_back_at_the_issued_cost(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    issue(client, s.owner, s.ticket, product_id=s.product, quantity=3, warehouse_id=s.central)
    # A later receipt at another price moves the average, not what the ticket paid.
    receive(run, s.client_id, s.central, s.product, 7, unit_cost_minor=3000)
    returns = f"{API}/tickets/{s.ticket}/parts/returns"
    body = {"product_id": str(s.product), "quantity": "1"}
    response = client.post(returns, json=body, headers=s.owner.headers)
    assert response.status_code == 201, response.text
    line = response.json()
    assert line["kind"] == "return" and line["warehouse_id"] == str(s.central)
    assert line["unit_cost_minor"] == 1000 and line["parts_cost_minor"] == 2000
    assert stock_of(run, s.central, s.product) == (Decimal(15), Decimal(0))
    used = client.get(f"{API}/tickets/{s.ticket}/parts", headers=s.owner.headers).json()
    assert used["lines"][0]["returned"] == "1" and used["lines"][0]["net"] == "2"
    assert used["total_cost_minor"] == 2000 == _parts_cost(run, s.ticket)
    too_many = client.post(returns, json={**body, "quantity": "3"}, headers=s.owner.headers)
    assert too_many.status_code == 409 and too_many.json()["code"] == "return_exceeds_issued"
    assert run(lambda session: ledger.verify(session)) == []


def test_a_part_never_issued_cannot_return(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    response = client.post(
        f"{API}/tickets/{s.ticket}/parts/returns",
        json={"product_id": str(s.product), "quantity": "1"},
        headers=s.owner.headers,
    )
    assert response.status_code == 409 and response.json()["code"] == "return_exceeds_issued"


def test_the_parts_cost_is_not_typed_once_stock_moved(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    url = f"{API}/tickets/{s.ticket}"
    typed = client.patch(url, json={"parts_cost_minor": 500}, headers=s.owner.headers)
    assert typed.status_code == 200 and typed.json()["parts_cost_minor"] == 500
    issue(client, s.owner, s.ticket, product_id=s.product, quantity=1, warehouse_id=s.central)
    assert _parts_cost(run, s.ticket) == 1000
    refused = client.patch(url, json={"parts_cost_minor": 500}, headers=s.owner.headers)
    assert refused.status_code == 422 and refused.json()["code"] == "parts_cost_from_stock"
    assert _parts_cost(run, s.ticket) == 1000
    currency = client.patch(url, json={"currency": "CLP"}, headers=s.owner.headers)
    assert currency.status_code == 200


def test_another_clients_product_or_warehouse_is_404(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    other = register_owner(client)
    assert other.client_id is not None
    their_product = make_product(run, other.client_id)
    their_warehouse = make_warehouse(run, other.client_id)
    receive(run, other.client_id, their_warehouse, their_product, 5)
    for body in (
        {"product_id": their_product, "quantity": 1, "warehouse_id": s.central},
        {"product_id": s.product, "quantity": 1, "warehouse_id": their_warehouse},
    ):
        assert issue(client, s.owner, s.ticket, **body).status_code == 404
    assert stock_of(run, their_warehouse, their_product) == (Decimal(5), Decimal(0))


def test_a_technician_issues_from_their_van_and_their_tickets_storerooms(
    client: TestClient, run: Runner
) -> None:
    s = make_stores(client, run)
    storeroom = make_warehouse(run, s.client_id, kind=WarehouseKind.locale, locale_id=s.locale)
    elsewhere = make_locale(run, s.client_id, "Local Norte")
    far_storeroom = make_warehouse(run, s.client_id, kind=WarehouseKind.locale, locale_id=elsewhere)
    for warehouse in (storeroom, far_storeroom):
        receive(run, s.client_id, warehouse, s.product, 5)
    tech = s.technician
    assert (
        issue(
            client, tech, s.ticket, product_id=s.product, quantity=1, warehouse_id=storeroom
        ).status_code
        == 201
    )
    # Not the central store, nor the storeroom of a locale none of their tickets is in.
    for warehouse in (s.central, far_storeroom):
        response = issue(
            client, tech, s.ticket, product_id=s.product, quantity=1, warehouse_id=warehouse
        )
        assert response.status_code == 404
    # Nor onto a ticket not assigned to them.
    other_ticket = make_ticket(run, s.client_id, s.locale, None, status=TicketStatus.in_progress)
    response = issue(client, tech, other_ticket, product_id=s.product, quantity=1)
    assert response.status_code == 404
    # Another technician's van is not theirs to issue from.
    colleague = make_user(client, run, role=UserRole.technician, client_id=s.client_id)
    their_van = make_warehouse(run, s.client_id, kind=WarehouseKind.van, technician_id=colleague.id)
    response = issue(
        client, tech, s.ticket, product_id=s.product, quantity=1, warehouse_id=their_van
    )
    assert response.status_code == 404


def test_a_requester_reads_the_parts_but_issues_none(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)
    issue(client, s.owner, s.ticket, product_id=s.product, quantity=2, warehouse_id=s.central)
    viewer = make_user(client, run, role=UserRole.client_member, client_id=s.client_id)
    add_member(run, s.client_id, s.locale, viewer.id, LocalRole.viewer)
    used = client.get(f"{API}/tickets/{s.ticket}/parts", headers=viewer.headers)
    assert used.status_code == 200 and used.json()["total_cost_minor"] == 2000
    response = issue(
        client, viewer, s.ticket, product_id=s.product, quantity=1, warehouse_id=s.central
    )
    assert response.status_code == 403


def test_a_step_may_require_parts_recorded(client: TestClient, run: Runner) -> None:
    s = make_stores(client, run)

    async def require(session: AsyncSession) -> str:
        workflow = await ensure_default_workflow(session, s.client_id)
        step = (
            await session.execute(
                select(WorkflowStep).where(
                    WorkflowStep.workflow_id == workflow.id,
                    WorkflowStep.to_status == TicketStatus.resolved,
                )
            )
        ).scalar_one()
        return f"{API}/workflows/{workflow.id}/steps/{step.id}"

    step_url = run(require)
    changed = client.patch(
        step_url, json={"requires_parts_recorded": True}, headers=s.owner.headers
    )
    assert changed.status_code == 200 and changed.json()["requires_parts_recorded"] is True
    refused = move(client, s.technician, s.ticket, "resolved")
    assert refused.status_code == 422 and refused.json()["code"] == "transition_requirements"
    assert [e["type"] for e in refused.json()["errors"]] == ["parts_required"]
    issue(client, s.technician, s.ticket, product_id=s.product, quantity=1)
    assert move(client, s.technician, s.ticket, "resolved").status_code == 200


def test_a_vendors_technician_issues_from_their_tickets_storeroom(
    client: TestClient, run: Runner
) -> None:
    s = make_stores(client, run)
    vendor = make_vendor(run)
    contractor = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    ticket = make_ticket(run, s.client_id, s.locale, None, TicketStatus.in_progress, contractor.id)
    storeroom = make_warehouse(run, s.client_id, kind=WarehouseKind.locale, locale_id=s.locale)
    receive(run, s.client_id, storeroom, s.product, 3)
    response = issue(
        client, contractor, ticket, product_id=s.product, quantity=1, warehouse_id=storeroom
    )
    assert response.status_code == 201, response.text
    central = issue(
        client, contractor, ticket, product_id=s.product, quantity=1, warehouse_id=s.central
    )
    assert central.status_code == 404
