"""The sync stream: first sync, changes after a cursor once each, tombstones, departures,
cursors tied to their user, expiry and reach resets."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops import demo
from kerops.core.enums import ShiftType, UserRole
from kerops.core.types import utcnow
from kerops.sync import service
from kerops.sync.models import SyncChange
from kerops.workforce.models import TechnicianShift
from tests.fixtures.factories import Account, Runner, login, make_user
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import Team, make_team
from tests.fixtures.workforce import at

AT = at(0, 10)

API = "/api/v1"


def sync_all(
    client: TestClient, account: Account, since: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str]:
    """Every page of the caller's stream after ``since``: the items and the drained cursor."""
    items: list[dict[str, Any]] = []
    cursor = since
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["since"] = cursor
        response = client.get(f"{API}/sync", params=params, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        if page["next_cursor"] is None:
            assert page["cursor"] is not None
            return items, page["cursor"]
        assert page["cursor"] is None
        cursor = page["next_cursor"]


def working_technician(client: TestClient, run: Runner, team: Team) -> Account:
    """A technician of the team's client with a working shift at ``AT``."""
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)

    async def create(session: AsyncSession) -> None:
        session.add(
            TechnicianShift(
                technician_id=tech.id,
                client_id=tech.client_id,
                shift_type=ShiftType.working,
                starts_at=datetime.fromisoformat(at(0, 8)),
                ends_at=datetime.fromisoformat(at(0, 18)),
            )
        )

    run(create)
    return tech


def assign(client: TestClient, account: Account, ticket_id: str, technician: Account) -> Any:
    """Assign ``technician`` to the ticket through the API."""
    return client.post(
        f"{API}/tickets/{ticket_id}/assign",
        json={"technician_id": str(technician.id), "at": AT},
        headers=account.headers,
    )


def _crew(client: TestClient, run: Runner) -> tuple[Team, Account, Account, dict[str, Any]]:
    team = make_team(client, run)
    tech = working_technician(client, run, team)
    other = working_technician(client, run, team)
    ticket = create_ticket(client, team.manager, team.locale1)
    response = assign(client, team.manager, ticket["id"], tech)
    assert response.status_code == 200, response.text
    return team, tech, other, response.json()


def test_first_sync_returns_what_the_caller_reads_once(client: TestClient, run: Runner) -> None:
    team, tech, other, ticket = _crew(client, run)
    elsewhere = create_ticket(client, team.manager2, team.locale2)
    items, _ = sync_all(client, tech, limit=1)
    tickets = [i for i in items if i["kind"] == "ticket"]
    assert [t["id"] for t in tickets] == [ticket["id"]]
    assert all(i["op"] == "upsert" for i in items)
    # The object as its own GET shows it.
    shown = client.get(f"{API}/tickets/{ticket['id']}", headers=tech.headers).json()
    assert tickets[0]["data"] == shown
    manager_ids = {i["id"] for i in sync_all(client, team.manager)[0]}
    assert ticket["id"] in manager_ids and elsewhere["id"] not in manager_ids
    assert elsewhere["id"] not in {i["id"] for i in sync_all(client, other)[0]}


def test_changes_after_a_cursor_appear_once_with_their_final_state(
    client: TestClient, run: Runner
) -> None:
    team, tech, _, ticket = _crew(client, run)
    _, cursor = sync_all(client, tech)
    for title in ("Uno", "Dos", "Tres"):
        response = client.patch(
            f"{API}/tickets/{ticket['id']}", json={"title": title}, headers=team.manager.headers
        )
        assert response.status_code == 200, response.text
    items, again = sync_all(client, tech, cursor)
    assert [(i["kind"], i["id"], i["op"]) for i in items] == [("ticket", ticket["id"], "upsert")]
    assert items[0]["data"]["title"] == "Tres"
    assert sync_all(client, tech, again)[0] == []


def test_a_ticket_reassigned_away_is_a_delete_for_its_former_technician(
    client: TestClient, run: Runner
) -> None:
    team, tech, other, ticket = _crew(client, run)
    _, tech_cursor = sync_all(client, tech)
    _, other_cursor = sync_all(client, other)
    assert assign(client, team.manager, ticket["id"], other).status_code == 200
    # Changed again after the departure: still a delete for the former technician.
    client.patch(
        f"{API}/tickets/{ticket['id']}", json={"title": "Otra"}, headers=team.manager.headers
    )
    items, _ = sync_all(client, tech, tech_cursor)
    assert [(i["kind"], i["id"], i["op"]) for i in items] == [("ticket", ticket["id"], "delete")]
    items, _ = sync_all(client, other, other_cursor)
    assert [(i["id"], i["op"]) for i in items if i["kind"] == "ticket"] == [
        (ticket["id"], "upsert")
    ]


def test_a_cursor_is_its_users_own(client: TestClient, run: Runner) -> None:
    _team, tech, other, _ = _crew(client, run)
    _, cursor = sync_all(client, tech)
    response = client.get(f"{API}/sync", params={"since": cursor}, headers=other.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "sync_cursor_invalid"
    body, _, signature = cursor.partition(".")
    forged = f"{body}.{signature[:-2]}AA"
    response = client.get(f"{API}/sync", params={"since": forged}, headers=tech.headers)
    assert response.status_code == 422


def test_an_old_cursor_is_gone(client: TestClient, run: Runner) -> None:
    _, tech, _, _ = _crew(client, run)
    state = client.app.state.kerops  # type: ignore[attr-defined]
    old = service.encode_cursor(
        service.Cursor(1, tech.id, int((utcnow() - timedelta(days=31)).timestamp())), state.security
    )
    response = client.get(f"{API}/sync", params={"since": old}, headers=tech.headers)
    assert response.status_code == 410
    assert response.json()["code"] == "sync_cursor_expired"


def test_a_membership_removed_resets_its_persons_cursors(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    create_ticket(client, team.manager, team.locale1)
    _, cursor = sync_all(client, team.viewer)
    url = f"{API}/locales/{team.locale1}/members/{team.viewer_member}"
    assert client.delete(url, headers=team.owner.headers).status_code == 204
    response = client.get(f"{API}/sync", params={"since": cursor}, headers=team.viewer.headers)
    assert response.status_code == 410
    assert response.json()["code"] == "sync_cursor_expired"
    # The full sync shows nothing of the locale any more.
    assert [i for i in sync_all(client, team.viewer)[0] if i["kind"] == "ticket"] == []


def test_the_prune_keeps_the_latest_change_of_live_objects(client: TestClient, run: Runner) -> None:
    team, tech, _, ticket = _crew(client, run)
    client.patch(
        f"{API}/tickets/{ticket['id']}", json={"title": "Dos"}, headers=team.manager.headers
    )

    async def age_and_prune(session: AsyncSession) -> int:
        await session.execute(update(SyncChange).values(changed_at=utcnow() - timedelta(days=40)))
        return await service.prune(session, keep_days=30)

    assert run(age_and_prune) > 0

    async def rows_of_ticket(session: AsyncSession) -> int:
        stmt = select(func.count()).where(SyncChange.object_id == uuid.UUID(ticket["id"]))
        return int((await session.execute(stmt)).scalar_one())

    assert run(rows_of_ticket) == 1
    assert ticket["id"] in {i["id"] for i in sync_all(client, tech)[0]}


def test_the_demo_technician_syncs_a_comment_after_the_first_sync(
    client: TestClient, run: Runner
) -> None:
    """The README's round trip, on the demo data."""
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def load(session: AsyncSession) -> bool:
        return await demo.load_demo(session, state)

    assert run(load)
    tokens = login(client, "tech@acme.demo", demo.DEMO_PASSWORD)
    me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    tech = Account(
        id=uuid.UUID(me.json()["id"]),
        email="tech@acme.demo",
        role=UserRole.technician,
        client_id=None,
        tokens=tokens,
    )
    first, cursor = sync_all(client, tech, limit=200)
    ticket = next(i for i in first if i["kind"] == "ticket")
    kinds = {i["kind"] for i in first}
    assert {"ticket", "shift", "certification"} <= kinds
    response = client.post(
        f"{API}/tickets/{ticket['id']}/comments",
        json={"body": "Llegué al local"},
        headers={**tech.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text
    items, _ = sync_all(client, tech, cursor)
    assert [(i["kind"], i["op"], i["data"]["body"]) for i in items] == [
        ("comment", "upsert", "Llegué al local")
    ]
