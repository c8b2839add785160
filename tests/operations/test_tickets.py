"""Service tickets: creation rules, numbering, SLA deadlines, reading by role, lists, changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core.enums import UserRole
from kerops.core.types import uuid7
from tests.conftest import QueryCounter
from tests.fixtures.factories import Runner, make_area, make_user, register_owner
from tests.fixtures.operations import create_ticket, set_ticket
from tests.fixtures.tenancy import make_team, walk

API = "/api/v1"


def _asset(run: Runner, client_id: uuid.UUID, locale_id: uuid.UUID) -> uuid.UUID:
    asset_id = uuid7()

    async def create(session: AsyncSession) -> None:
        session.add(
            Asset(
                id=asset_id,
                client_id=client_id,
                locale_id=locale_id,
                name="Chiller",
                qr_code=uuid.uuid4().hex,
            )
        )

    run(create)
    return asset_id


def _ids(client: TestClient, account: Any, **params: Any) -> set[str]:
    items, _ = walk(client, account, f"{API}/tickets", **params)
    return {t["id"] for t in items}


def test_create_sets_number_code_sla_source_and_history(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    first = create_ticket(client, team.requester, team.locale1, priority="critical")
    second = create_ticket(client, team.manager, team.locale1, priority="low")
    assert (first["number"], first["code"]) == (1, "T-000001")
    assert (second["number"], second["code"]) == (2, "T-000002")
    assert first["status"] == "open" and first["source"] == "manual"
    assert first["requester_id"] == str(team.requester.id)
    created = datetime.fromisoformat(first["created_at"])
    assert datetime.fromisoformat(first["sla_response_due_at"]) - created == timedelta(hours=1)
    assert datetime.fromisoformat(first["sla_resolution_due_at"]) - created == timedelta(hours=4)
    low_created = datetime.fromisoformat(second["created_at"])
    low_due = datetime.fromisoformat(second["sla_resolution_due_at"])
    assert low_due - low_created == timedelta(hours=168)
    assert first["sla_response_breached"] is False
    history = client.get(f"{API}/tickets/{first['id']}/history", headers=team.owner.headers)
    assert [(h["from_status"], h["to_status"]) for h in history.json()["items"]] == [(None, "open")]


def test_numbers_are_per_client(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    create_ticket(client, team.owner, team.locale1)
    assert create_ticket(client, other.owner, other.locale1)["number"] == 1


def test_who_may_raise_a_ticket(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    body = {"title": "Fuga", "locale_id": str(team.locale1)}
    assert client.post(f"{API}/tickets", json=body, headers=team.viewer.headers).status_code == 403
    for account in (team.outsider, team.manager2, technician):
        response = client.post(f"{API}/tickets", json=body, headers=account.headers)
        assert response.status_code == 404, response.text
    assert client.post(f"{API}/tickets", json=body, headers=team.owner.headers).status_code == 201


def test_foreign_or_misplaced_area_and_asset(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    assert other.client_id is not None
    from tests.fixtures.factories import make_locale

    foreign_locale = make_locale(run, other.client_id)
    foreign_area = make_area(run, other.client_id, foreign_locale)
    foreign_asset = _asset(run, other.client_id, foreign_locale)
    area2 = make_area(run, team.client_id, team.locale2)
    asset2 = _asset(run, team.client_id, team.locale2)
    base = {"title": "Fuga", "locale_id": str(team.locale1)}
    h = team.owner.headers
    for extra, expected in (
        ({"locale_id": str(foreign_locale)}, 404),
        ({"area_id": str(foreign_area)}, 404),
        ({"asset_id": str(foreign_asset)}, 404),
        ({"area_id": str(area2)}, 422),
        ({"asset_id": str(asset2)}, 422),
    ):
        response = client.post(f"{API}/tickets", json={**base, **extra}, headers=h)
        assert response.status_code == expected, (extra, response.text)
    asset1 = _asset(run, team.client_id, team.locale1)
    area1 = make_area(run, team.client_id, team.locale1)
    ok = create_ticket(client, team.owner, team.locale1, asset_id=str(asset1), area_id=str(area1))
    assert ok["asset_id"] == str(asset1)


def test_requester_sees_only_own_tickets(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    mine = create_ticket(client, team.requester, team.locale1)
    theirs = create_ticket(client, team.manager, team.locale1)
    assert _ids(client, team.requester) == {mine["id"]}
    response = client.get(f"{API}/tickets/{theirs['id']}", headers=team.requester.headers)
    assert response.status_code == 404


def test_viewer_reads_the_locale_tickets(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    one = create_ticket(client, team.requester, team.locale1)
    two = create_ticket(client, team.manager, team.locale1)
    elsewhere = create_ticket(client, team.manager2, team.locale2)
    assert _ids(client, team.viewer) == {one["id"], two["id"]}
    assert _ids(client, team.owner) == {one["id"], two["id"], elsewhere["id"]}
    assert _ids(client, team.outsider) == set()


def test_technician_sees_only_assigned_tickets(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    assigned = create_ticket(client, team.manager, team.locale1)
    other = create_ticket(client, team.manager, team.locale1)
    set_ticket(run, assigned["id"], technician_id=technician.id)
    assert _ids(client, technician) == {assigned["id"]}
    h = technician.headers
    assert client.get(f"{API}/tickets/{other['id']}", headers=h).status_code == 404
    assert client.get(f"{API}/tickets/{assigned['id']}", headers=h).status_code == 200
    patched = client.patch(f"{API}/tickets/{assigned['id']}", json={"title": "X"}, headers=h)
    assert patched.status_code == 403


def test_filters(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    asset = _asset(run, team.client_id, team.locale1)
    a = create_ticket(
        client, team.manager, team.locale1, title="Aire acondicionado", priority="high"
    )
    b = create_ticket(client, team.requester, team.locale1, title="Puerta", asset_id=str(asset))
    c = create_ticket(client, team.manager2, team.locale2, title="Luz", description="aire frío")
    set_ticket(run, a["id"], technician_id=technician.id, status="in_progress")
    past = datetime.now(UTC) - timedelta(days=1)
    set_ticket(run, c["id"], sla_resolution_due_at=past)
    o = team.owner
    assert _ids(client, o, status=["in_progress", "resolved"]) == {a["id"]}
    assert _ids(client, o, status="open") == {b["id"], c["id"]}
    assert _ids(client, o, priority="high") == {a["id"]}
    assert _ids(client, o, locale_id=str(team.locale2)) == {c["id"]}
    assert _ids(client, o, asset_id=str(asset)) == {b["id"]}
    assert _ids(client, o, technician_id=str(technician.id)) == {a["id"]}
    assert _ids(client, o, requester_id=str(team.requester.id)) == {b["id"]}
    assert _ids(client, o, overdue="true") == {c["id"]}
    assert _ids(client, o, overdue="false") == {a["id"], b["id"]}
    assert _ids(client, o, q="aire") == {a["id"], c["id"]}
    assert _ids(client, o, q=str(b["number"])) == {b["id"]}
    assert _ids(client, o, q=b["code"]) == {b["id"]}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert _ids(client, o, created_from=future) == set()
    assert len(_ids(client, o, created_to=future)) == 3
    set_ticket(run, c["id"], status="completed")
    assert _ids(client, o, overdue="true") == set()


def test_sorts_and_keyset_pages(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    priorities = ["low", "critical", "medium", "high", "low", "critical", "medium"]
    made = [create_ticket(client, team.owner, team.locale1, priority=p) for p in priorities]
    items, pages = walk(client, team.owner, f"{API}/tickets", sort="number", limit=2)
    assert [t["number"] for t in items] == list(range(1, 8)) and pages == 4
    items, _ = walk(client, team.owner, f"{API}/tickets", sort="-priority", limit=2)
    rank = {"low": 1, "medium": 2, "high": 3, "critical": 4}
    assert [rank[t["priority"]] for t in items] == sorted(
        (rank[p] for p in priorities), reverse=True
    )
    assert len({t["id"] for t in items}) == len(made)
    items, _ = walk(client, team.owner, f"{API}/tickets", sort="priority", limit=3)
    assert [rank[t["priority"]] for t in items] == sorted(rank[p] for p in priorities)
    items, _ = walk(client, team.owner, f"{API}/tickets", sort="sla_resolution_due_at", limit=3)
    dues = [t["sla_resolution_due_at"] for t in items]
    assert dues == sorted(dues) and len(items) == 7
    items, _ = walk(client, team.owner, f"{API}/tickets", limit=3)
    assert [t["number"] for t in items] == list(range(7, 0, -1))
    bad = client.get(f"{API}/tickets", params={"sort": "title"}, headers=team.owner.headers)
    assert bad.status_code == 422
    cursor = client.get(
        f"{API}/tickets",
        params={"sort": "priority", "cursor": "bm9wZQ"},
        headers=team.owner.headers,
    )
    assert cursor.status_code == 422


def test_list_query_count_does_not_grow_with_the_page(
    client: TestClient, run: Runner, queries: QueryCounter
) -> None:
    team = make_team(client, run)
    for _ in range(30):
        create_ticket(client, team.manager, team.locale1)
    counts = []
    for limit in (5, 30):
        with queries as q:
            response = client.get(
                f"{API}/tickets", params={"limit": limit}, headers=team.viewer.headers
            )
        assert response.status_code == 200 and len(response.json()["items"]) == limit
        counts.append(q.count)
    assert counts[0] == counts[1]


def test_patch_changes_details_and_recomputes_deadlines(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, priority="low")
    response = client.patch(
        f"{API}/tickets/{ticket['id']}",
        json={"priority": "critical", "title": "Urgente", "planned_at": "2030-01-01T10:00:00Z"},
        headers=team.manager.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["sla_resolution_due_at"]) - created == timedelta(hours=4)
    assert body["title"] == "Urgente" and body["status"] == "open"


def test_patch_refuses_status_and_non_managers(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    url = f"{API}/tickets/{ticket['id']}"
    status = client.patch(url, json={"status": "completed"}, headers=team.owner.headers)
    assert status.status_code == 422
    for account in (team.requester, team.viewer):
        assert client.patch(url, json={"title": "X"}, headers=account.headers).status_code == 403
    assert client.patch(url, json={"title": "X"}, headers=team.manager2.headers).status_code == 404
    assert client.patch(url, json={"title": None}, headers=team.owner.headers).status_code == 422


def test_comments(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    url = f"{API}/tickets/{ticket['id']}/comments"
    for account in (team.requester, team.viewer, team.manager):
        response = client.post(url, json={"body": "Hola"}, headers=account.headers)
        assert response.status_code == 201, response.text
    for bad in ("", "   ", "x" * 5001):
        assert client.post(url, json={"body": bad}, headers=team.owner.headers).status_code == 422
    assert client.post(url, json={"body": "X"}, headers=team.manager2.headers).status_code == 404
    items, _ = walk(client, team.viewer, url, limit=2)
    assert [c["author_id"] for c in items] == [
        str(team.requester.id),
        str(team.viewer.id),
        str(team.manager.id),
    ]


def test_costs_are_recorded_by_owner_and_managers(client: TestClient, run: Runner) -> None:
    # The parts cost and currency are typed; the labour cost is the sum of the ticket's work
    # logs (tests/labour), never typed.
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    assert (ticket["labour_cost_minor"], ticket["parts_cost_minor"]) == (0, 0)
    assert ticket["currency"] == "CLP" and ticket["total_cost_minor"] == 0
    url = f"{API}/tickets/{ticket['id']}"
    changed = client.patch(url, json={"parts_cost_minor": 129_990}, headers=team.manager.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["total_cost_minor"] == 129_990
    in_usd = client.patch(url, json={"currency": "USD"}, headers=team.owner.headers)
    assert in_usd.json()["currency"] == "USD"
    for bad in (
        {"labour_cost_minor": 45_000},
        {"parts_cost_minor": -1},
        {"parts_cost_minor": 2**63},
        {"parts_cost_minor": 1.5},
        {"parts_cost_minor": None},
        {"currency": "usd"},
        {"currency": "PESOS"},
    ):
        response = client.patch(url, json=bad, headers=team.owner.headers)
        assert response.status_code == 422, bad
    refused = client.patch(url, json={"parts_cost_minor": 1}, headers=team.requester.headers)
    assert refused.status_code == 403
    final = client.get(url, headers=team.owner.headers).json()
    assert (final["labour_cost_minor"], final["parts_cost_minor"], final["currency"]) == (
        0,
        129_990,
        "USD",
    )


def test_reading_a_ticket_shows_every_field_as_the_model_would(
    client: TestClient, run: Runner
) -> None:
    # The read selects the columns without building the ORM object: the document must equal
    # the ORM object's, every field set (JSON lists, times, costs, the diagnosis) or not.
    from kerops.operations.models import ServiceTicket
    from kerops.operations.schemas import TicketRead

    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1, description="Gotea")
    earlier = create_ticket(client, team.requester, team.locale1, description="Goteaba")
    set_ticket(
        run,
        ticket["id"],
        ai_cause="Filtro tapado",
        ai_parts=[{"product_id": str(uuid7()), "name": "Filtro", "sku": "F-1", "score": 0.8}],
        # A ticket the reader may read (the cited tickets a reader may not read are left out:
        # tests/automation/test_diagnosis_citations.py).
        ai_similar_ticket_ids=[earlier["id"]],
        ai_cause_ticket_ids=[earlier["id"]],
        ai_confidence=0.75,
        labour_cost_minor=12_500,
        parts_cost_minor=3_000,
        planned_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    response = client.get(f"{API}/tickets/{ticket['id']}", headers=team.requester.headers)
    assert response.status_code == 200, response.text

    async def by_orm(session: AsyncSession) -> dict[str, Any]:
        found = await session.get(ServiceTicket, uuid.UUID(ticket["id"]))
        return TicketRead.model_validate(found).model_dump(mode="json")

    assert response.json() == run(by_orm)
    assert response.json()["ai_parts"][0]["name"] == "Filtro"
    # Someone outside the locale's client gets the same 404 as for a missing ticket.
    stranger = register_owner(client)
    hidden = client.get(f"{API}/tickets/{ticket['id']}", headers=stranger.headers)
    missing = client.get(f"{API}/tickets/{uuid7()}", headers=stranger.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]
