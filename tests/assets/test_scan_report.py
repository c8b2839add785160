"""Fault reports from an asset's public scan page: a ticket, answered with its code only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketPriority, TicketStatus
from kerops.operations.models import ServiceTicket, TicketHistory
from tests.fixtures.assets import create_asset
from tests.fixtures.factories import Runner, make_area
from tests.fixtures.tenancy import make_team

API = "/api/v1"
REPORT = {
    "reporter_name": "Ana Torres",
    "reporter_contact": "ana.torres@example.com",
    "description": "The unit is dripping water onto the floor.",
}


def _tickets(run: Runner, asset_id: str) -> list[ServiceTicket]:
    async def load(session: AsyncSession) -> list[ServiceTicket]:
        stmt = select(ServiceTicket).where(ServiceTicket.asset_id == uuid.UUID(asset_id))
        return list((await session.execute(stmt.order_by(ServiceTicket.number))).scalars())

    result: list[ServiceTicket] = run(load)
    return result


def test_report_creates_a_scan_ticket_on_the_asset(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale1, "Sala de máquinas")
    asset = create_asset(client, team.owner, team.locale1, name="Chiller 1", area_id=area)
    response = client.post(f"{API}/scan/{asset['qr_code']}", json=REPORT)
    assert response.status_code == 201, response.text
    [ticket] = _tickets(run, asset["id"])
    assert response.json() == {
        "ticket_number_code": f"T-{ticket.number:06d}",
        "message": response.json()["message"],
    }
    assert ticket.title == "Fault reported at Chiller 1"  # the request's language, es-CL by default
    assert ticket.description == REPORT["description"]
    assert (ticket.locale_id, ticket.area_id) == (team.locale1, area)
    assert ticket.source == "scan" and ticket.priority is TicketPriority.medium
    assert ticket.status is TicketStatus.open and ticket.requester_id is None
    assert (ticket.reporter_name, ticket.reporter_contact) == (
        "Ana Torres",
        REPORT["reporter_contact"],
    )
    assert ticket.workflow_id is not None
    assert ticket.sla_response_due_at is not None and ticket.sla_resolution_due_at is not None

    async def history(session: AsyncSession) -> list[tuple[Any, ...]]:
        stmt = select(TicketHistory.from_status, TicketHistory.to_status, TicketHistory.actor_id)
        rows = await session.execute(stmt.where(TicketHistory.ticket_id == ticket.id))
        return [tuple(row) for row in rows]

    assert run(history) == [(None, TicketStatus.open, None)]


def test_report_is_numbered_after_the_clients_tickets(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    created = client.post(
        f"{API}/tickets",
        json={
            "title": "Leak",
            "description": "",
            "locale_id": str(team.locale1),
            "priority": "low",
        },
        headers=team.owner.headers,
    )
    assert created.status_code == 201, created.text
    first = client.post(f"{API}/scan/{asset['qr_code']}", json=REPORT)
    second = client.post(
        f"{API}/scan/{asset['qr_code']}", json={**REPORT, "reporter_contact": "+56 9 8765 4321"}
    )
    assert first.json()["ticket_number_code"] == "T-000002"
    assert second.json()["ticket_number_code"] == "T-000003"


def test_report_answers_only_the_code_and_a_message(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1, name="Tablero", serial_number="SECRET")
    response = client.post(f"{API}/scan/{asset['qr_code']}", json=REPORT)
    assert response.status_code == 201
    assert set(response.json()) == {"ticket_number_code", "message"}
    for secret in ("SECRET", asset["id"], str(team.locale1), str(team.client_id)):
        assert secret not in response.text


def test_report_on_an_unknown_code_is_not_found(client: TestClient, run: Runner) -> None:
    response = client.post(f"{API}/scan/{'x' * 32}", json=REPORT)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "change",
    [
        {"photo": "data:image/png;base64,AAAA"},
        {"reporter_name": ""},
        {"reporter_name": "x" * 201},
        {"reporter_contact": "not a contact"},
        {"reporter_contact": "ab"},
        {"reporter_contact": "ana@"},
        {"description": ""},
        {"description": "x" * 5001},
    ],
)
def test_report_refuses_invalid_bodies(
    client: TestClient, run: Runner, change: dict[str, Any]
) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    response = client.post(f"{API}/scan/{asset['qr_code']}", json={**REPORT, **change})
    assert response.status_code == 422, response.text
    assert _tickets(run, asset["id"]) == []


def test_report_accepts_a_phone_number_as_contact(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    body = {**REPORT, "reporter_contact": "+56 9 1234 5678"}
    assert client.post(f"{API}/scan/{asset['qr_code']}", json=body).status_code == 201
    [ticket] = _tickets(run, asset["id"])
    assert ticket.reporter_contact == "+56 9 1234 5678"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_rate_limit": "2/minute"}


def test_report_is_rate_limited_per_address(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    url = f"{API}/scan/{asset['qr_code']}"
    assert client.post(url, json=REPORT).status_code == 201
    assert client.post(url, json=REPORT).status_code == 201
    response = client.post(url, json=REPORT)
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert len(_tickets(run, asset["id"])) == 2
