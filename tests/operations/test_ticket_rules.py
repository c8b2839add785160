"""A new user's stumbles: a ticket on an asset takes its locale and area, a move to assigned needs
a technician, and a refused move says who may take it."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core.enums import TicketStatus
from kerops.core.types import uuid7
from tests.fixtures.factories import Runner, make_area
from tests.fixtures.operations import create_ticket, move, set_step
from tests.fixtures.tenancy import make_team

API = "/api/v1"


def _asset(
    run: Runner, client_id: uuid.UUID, locale_id: uuid.UUID, area_id: uuid.UUID | None
) -> uuid.UUID:
    asset_id = uuid7()

    async def create(session: AsyncSession) -> None:
        session.add(
            Asset(
                id=asset_id,
                client_id=client_id,
                locale_id=locale_id,
                area_id=area_id,
                name="Bomba",
                qr_code=uuid.uuid4().hex,
            )
        )

    run(create)
    return asset_id


def test_a_ticket_on_an_asset_takes_its_locale_and_area(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale2)
    asset = _asset(run, team.client_id, team.locale2, area)
    body = {"title": "No parte", "asset_id": str(asset)}
    response = client.post(f"{API}/tickets", json=body, headers=team.owner.headers)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert (ticket["locale_id"], ticket["area_id"]) == (str(team.locale2), str(area))


def test_a_locale_or_area_contradicting_the_asset_is_422(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale2)
    other_area = make_area(run, team.client_id, team.locale2, name="Bodega")
    asset = _asset(run, team.client_id, team.locale2, area)
    body = {
        "title": "No parte",
        "asset_id": str(asset),
        "locale_id": str(team.locale1),
        "area_id": str(other_area),
    }
    response = client.post(f"{API}/tickets", json=body, headers=team.owner.headers)
    assert response.status_code == 422, response.text
    errors = {tuple(e["loc"]): e["type"] for e in response.json()["errors"]}
    assert errors == {
        ("body", "locale_id"): "asset_other_locale",
        ("body", "area_id"): "asset_other_area",
    }
    same = {**body, "locale_id": str(team.locale2), "area_id": str(area)}
    assert client.post(f"{API}/tickets", json=same, headers=team.owner.headers).status_code == 201


def test_an_asset_without_an_area_leaves_the_area_to_the_ticket(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale1)
    asset = _asset(run, team.client_id, team.locale1, None)
    body = {"title": "Ruido", "asset_id": str(asset), "area_id": str(area)}
    response = client.post(f"{API}/tickets", json=body, headers=team.owner.headers)
    assert response.status_code == 201, response.text
    assert response.json()["area_id"] == str(area)


def test_a_ticket_needs_a_locale_or_an_asset(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.post(f"{API}/tickets", json={"title": "X"}, headers=team.owner.headers)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "locale_id"]]


def test_a_move_to_assigned_needs_a_technician(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.owner, team.locale1)
    response = move(client, team.owner, ticket["id"], "assigned")
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["type"] == "technician_required" and "technician_id" in error["msg"]
    read = client.get(f"{API}/tickets/{ticket['id']}", headers=team.owner.headers).json()
    assert read["status"] == "open"


def test_a_refused_move_names_the_roles_that_may_take_it(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.manager, team.locale1)
    set_step(
        run,
        ticket["workflow_id"],
        TicketStatus.open,
        TicketStatus.cancelled,
        allowed_roles=["owner", "staff"],
    )
    response = move(client, team.manager, ticket["id"], "cancelled", comment="no aplica")
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "transition_forbidden"
    assert problem["allowed_roles"] == ["owner", "staff"]
    assert "owner" in problem["detail"] and "staff" in problem["detail"]
