"""Assets: create, read, list, update, move, the tree, plan limits and who may do what."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.audit.models import AuditLog
from kerops.core.enums import SubscriptionPlan, TicketStatus, UserRole
from tests.conftest import QueryCounter
from tests.fixtures.assets import (
    create_asset,
    make_asset,
    make_device,
    make_ticket,
    set_plan_limit,
)
from tests.fixtures.factories import Runner, make_area, make_locale, make_user, register_owner
from tests.fixtures.tenancy import make_team, walk

API = "/api/v1"


def test_owner_creates_asset_with_generated_qr_code(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale1)
    asset = create_asset(
        client,
        team.owner,
        team.locale1,
        area_id=area,
        make="Carrier",
        model="X1",
        serial_number="SN-1",
        install_date="2024-01-01",
        warranty_end_date="2026-01-01",
        criticality=5,
        meter_readings={"hours": 1200.5},
    )
    assert asset["client_id"] == str(team.client_id)
    assert asset["area_id"] == str(area)
    assert asset["status"] == "operational"
    assert asset["meter_readings"] == {"hours": 1200.5}
    assert len(asset["qr_code"]) >= 32
    other = create_asset(client, team.owner, team.locale1)
    assert other["qr_code"] != asset["qr_code"]


def test_qr_code_cannot_be_set(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    body = {"name": "X", "locale_id": str(team.locale1), "qr_code": "mine"}
    response = client.post(f"{API}/assets", json=body, headers=team.owner.headers)
    assert response.status_code == 422
    asset = create_asset(client, team.owner, team.locale1)
    response = client.patch(
        f"{API}/assets/{asset['id']}", json={"qr_code": "mine"}, headers=team.owner.headers
    )
    assert response.status_code == 422


def test_qr_code_is_redacted_in_the_audit_log(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)

    async def changes(session: AsyncSession) -> Any:
        stmt = select(AuditLog.changes).where(AuditLog.record_id == asset["id"])
        return (await session.execute(stmt)).scalar_one()

    assert run(changes)["qr_code"]["after"] == "[redacted]"


def test_bad_inputs_are_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    base = {"name": "X", "locale_id": str(team.locale1)}
    for extra in (
        {"criticality": 0},
        {"criticality": 6},
        {"status": "broken"},
        {"install_date": "2025-01-02", "warranty_end_date": "2025-01-01"},
        {"meter_readings": {"hours": "many"}},
        {"name": ""},
    ):
        response = client.post(f"{API}/assets", json={**base, **extra}, headers=team.owner.headers)
        assert response.status_code == 422, extra
        assert response.headers["content-type"].startswith("application/problem+json")


def test_warranty_before_existing_install_date_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1, install_date="2025-06-01")
    response = client.patch(
        f"{API}/assets/{asset['id']}",
        json={"warranty_end_date": "2025-01-01"},
        headers=team.owner.headers,
    )
    assert response.status_code == 422


def test_area_of_another_locale_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area2 = make_area(run, team.client_id, team.locale2)
    body = {"name": "X", "locale_id": str(team.locale1), "area_id": str(area2)}
    response = client.post(f"{API}/assets", json=body, headers=team.owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "area_id"]


def test_foreign_ids_in_the_body_are_not_found(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    assert other.client_id is not None
    foreign_locale = make_locale(run, other.client_id)
    foreign_area = make_area(run, other.client_id, foreign_locale)
    foreign_asset = make_asset(run, other.client_id, foreign_locale)
    for body in (
        {"locale_id": str(foreign_locale)},
        {"locale_id": str(team.locale1), "area_id": str(foreign_area)},
        {"locale_id": str(team.locale1), "parent_id": str(foreign_asset)},
    ):
        response = client.post(
            f"{API}/assets", json={"name": "X", **body}, headers=team.owner.headers
        )
        assert response.status_code == 404, body
    asset = create_asset(client, team.owner, team.locale1)
    for body in (
        {"locale_id": str(foreign_locale)},
        {"area_id": str(foreign_area)},
        {"parent_id": str(foreign_asset)},
    ):
        response = client.patch(
            f"{API}/assets/{asset['id']}", json=body, headers=team.owner.headers
        )
        assert response.status_code == 404, body


def test_parent_must_be_in_the_same_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    parent = create_asset(client, team.owner, team.locale2)
    body = {"name": "X", "locale_id": str(team.locale1), "parent_id": parent["id"]}
    response = client.post(f"{API}/assets", json=body, headers=team.owner.headers)
    assert response.status_code == 422


def test_tree_cycles_are_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    root = create_asset(client, team.owner, team.locale1)
    child = create_asset(client, team.owner, team.locale1, parent_id=root["id"])
    grandchild = create_asset(client, team.owner, team.locale1, parent_id=child["id"])
    for target, parent in ((root, root), (root, child), (root, grandchild), (child, grandchild)):
        response = client.patch(
            f"{API}/assets/{target['id']}",
            json={"parent_id": parent["id"]},
            headers=team.owner.headers,
        )
        assert response.status_code == 422, (target["name"], parent["name"])
        assert response.json()["errors"][0]["type"] == "asset_cycle"
    # Re-parenting elsewhere and detaching work.
    other = create_asset(client, team.owner, team.locale1)
    response = client.patch(
        f"{API}/assets/{grandchild['id']}",
        json={"parent_id": other["id"]},
        headers=team.owner.headers,
    )
    assert response.status_code == 200
    response = client.patch(
        f"{API}/assets/{grandchild['id']}", json={"parent_id": None}, headers=team.owner.headers
    )
    assert response.json()["parent_id"] is None


def test_tree_depth_is_capped(client: TestClient, run: Runner) -> None:
    from kerops.assets.service import MAX_ASSET_DEPTH

    team = make_team(client, run)
    parent: uuid.UUID | None = None
    for _ in range(MAX_ASSET_DEPTH):
        parent = make_asset(run, team.client_id, team.locale1, parent_id=parent)
    body = {"name": "X", "locale_id": str(team.locale1), "parent_id": str(parent)}
    response = client.post(f"{API}/assets", json=body, headers=team.owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "asset_too_deep"


def test_plan_limit_on_assets(client: TestClient, run: Runner) -> None:
    team = make_team(client, run, plan=SubscriptionPlan.basic)
    set_plan_limit(run, SubscriptionPlan.basic, max_assets=2)
    create_asset(client, team.owner, team.locale1)
    create_asset(client, team.manager, team.locale1)
    response = client.post(
        f"{API}/assets",
        json={"name": "X", "locale_id": str(team.locale1)},
        headers=team.owner.headers,
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "plan_limit_exceeded"
    assert body["limit"] == "max_assets"


def test_roles_on_assets(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset1 = create_asset(client, team.manager, team.locale1)
    asset2 = create_asset(client, team.owner, team.locale2)
    url1, url2 = f"{API}/assets/{asset1['id']}", f"{API}/assets/{asset2['id']}"
    # Manager of locale 1: writes there, cannot see locale 2's assets.
    assert client.patch(url1, json={"name": "M"}, headers=team.manager.headers).status_code == 200
    assert client.get(url2, headers=team.manager.headers).status_code == 404
    body = {"name": "X", "locale_id": str(team.locale2)}
    assert client.post(f"{API}/assets", json=body, headers=team.manager.headers).status_code == 404
    # Viewer and requester read but may not write (403).
    for reader in (team.viewer, team.requester):
        assert client.get(url1, headers=reader.headers).status_code == 200
        assert client.patch(url1, json={"name": "R"}, headers=reader.headers).status_code == 403
        assert client.delete(url1, headers=reader.headers).status_code == 403
        body = {"name": "X", "locale_id": str(team.locale1)}
        assert client.post(f"{API}/assets", json=body, headers=reader.headers).status_code == 403
    # A member without a membership sees nothing.
    assert client.get(url1, headers=team.outsider.headers).status_code == 404
    items, _ = walk(client, team.outsider, f"{API}/assets")
    assert items == []


def test_technician_reads_assets_of_assigned_tickets_only(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    assigned = create_asset(client, team.owner, team.locale1)
    other = create_asset(client, team.owner, team.locale1)
    make_ticket(run, team.client_id, team.locale1, uuid.UUID(assigned["id"]), technician_id=tech.id)
    items, _ = walk(client, tech, f"{API}/assets")
    assert [i["id"] for i in items] == [assigned["id"]]
    assert client.get(f"{API}/assets/{other['id']}", headers=tech.headers).status_code == 404
    url = f"{API}/assets/{assigned['id']}"
    assert client.get(url, headers=tech.headers).status_code == 200
    assert client.patch(url, json={"name": "T"}, headers=tech.headers).status_code == 403


def test_move_to_another_locale_within_reach(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale1)
    asset = create_asset(client, team.owner, team.locale1, area_id=area)
    device = make_device(run, team.client_id, team.locale1, uuid.UUID(asset["id"]))
    url = f"{API}/assets/{asset['id']}"
    # The manager of locale 1 does not manage locale 2: the move is refused.
    response = client.patch(
        url, json={"locale_id": str(team.locale2)}, headers=team.manager.headers
    )
    assert response.status_code == 404
    response = client.patch(url, json={"locale_id": str(team.locale2)}, headers=team.owner.headers)
    assert response.status_code == 200
    moved = response.json()
    assert moved["locale_id"] == str(team.locale2)
    assert moved["area_id"] is None
    response = client.get(f"{API}/iot-devices/{device}", headers=team.owner.headers)
    assert response.json()["locale_id"] == str(team.locale2)
    # The manager of locale 1 no longer sees it; the manager of locale 2 does.
    assert client.get(url, headers=team.manager.headers).status_code == 404
    assert client.get(url, headers=team.manager2.headers).status_code == 200


def test_manager_cannot_move_an_asset_into_a_locale_they_only_read(
    client: TestClient, run: Runner
) -> None:
    from kerops.core.enums import LocalRole
    from tests.fixtures.factories import add_member

    team = make_team(client, run)
    add_member(run, team.client_id, team.locale2, team.manager.id, LocalRole.viewer)
    asset = create_asset(client, team.manager, team.locale1)
    response = client.patch(
        f"{API}/assets/{asset['id']}",
        json={"locale_id": str(team.locale2)},
        headers=team.manager.headers,
    )
    assert response.status_code == 403


def test_moving_an_asset_with_children_is_refused(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    parent = create_asset(client, team.owner, team.locale1)
    create_asset(client, team.owner, team.locale1, parent_id=parent["id"])
    response = client.patch(
        f"{API}/assets/{parent['id']}",
        json={"locale_id": str(team.locale2)},
        headers=team.owner.headers,
    )
    assert response.status_code == 409


def test_list_filters_and_sorts(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    area = make_area(run, team.client_id, team.locale1)
    pump = create_asset(
        client, team.owner, team.locale1, name="Bomba", category="pump", criticality=5, area_id=area
    )
    create_asset(client, team.owner, team.locale1, name="Caldera", serial_number="CAL-9")
    create_asset(client, team.owner, team.locale2, name="Aire", make="Daikin", status="down")
    child = create_asset(client, team.owner, team.locale1, name="Motor", parent_id=pump["id"])

    def names(**params: Any) -> list[str]:
        items, _ = walk(client, team.owner, f"{API}/assets", **params)
        return [i["name"] for i in items]

    assert names() == ["Aire", "Bomba", "Caldera", "Motor"]
    assert names(sort="-name") == ["Motor", "Caldera", "Bomba", "Aire"]
    assert names(sort="-criticality")[0] == "Bomba"
    assert names(locale_id=str(team.locale2)) == ["Aire"]
    assert names(area_id=str(area)) == ["Bomba"]
    assert names(status="down") == ["Aire"]
    assert names(category="PUMP") == ["Bomba"]
    assert names(parent_id=pump["id"]) == [child["name"]]
    assert names(q="cal-9") == ["Caldera"]
    assert names(q="daikin") == ["Aire"]
    response = client.get(f"{API}/assets", params={"sort": "qr_code"}, headers=team.owner.headers)
    assert response.status_code == 422


def test_list_pages_through_every_asset(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    for i in range(7):
        make_asset(run, team.client_id, team.locale1, f"A{i}", criticality=i % 3 + 1)
    items, pages = walk(client, team.owner, f"{API}/assets", limit=3, sort="criticality")
    assert len(items) == 7 and pages == 3
    assert len({i["id"] for i in items}) == 7


def test_list_query_count_does_not_grow_with_rows(
    client: TestClient, run: Runner, queries: QueryCounter
) -> None:
    team = make_team(client, run)
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)

    def cost(account: Any, n: int) -> int:
        for _ in range(n):
            asset = make_asset(run, team.client_id, team.locale1)
            make_ticket(run, team.client_id, team.locale1, asset, TicketStatus.assigned, tech.id)
        with queries as q:
            response = client.get(f"{API}/assets", params={"limit": 100}, headers=account.headers)
        assert response.status_code == 200
        return q.count

    for account in (team.owner, team.manager, tech):
        assert cost(account, 5) == cost(account, 25)


def test_delete_asset_keeps_children_at_top_level(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    parent = create_asset(client, team.owner, team.locale1)
    child = create_asset(client, team.owner, team.locale1, parent_id=parent["id"])
    response = client.delete(f"{API}/assets/{parent['id']}", headers=team.manager.headers)
    assert response.status_code == 204
    assert client.get(f"{API}/assets/{parent['id']}", headers=team.owner.headers).status_code == 404
    response = client.get(f"{API}/assets/{child['id']}", headers=team.owner.headers)
    assert response.json()["parent_id"] is None

    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(Asset))).scalar_one())

    assert run(count) == 1


def test_staff_creates_assets_for_any_client(client: TestClient, run: Runner) -> None:
    from tests.fixtures.factories import make_staff

    team = make_team(client, run)
    staff = make_staff(client, run)
    asset = create_asset(client, staff, team.locale1)
    assert asset["client_id"] == str(team.client_id)


def test_moving_keeps_no_parent_of_the_old_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    parent = create_asset(client, team.owner, team.locale1)
    child = create_asset(client, team.owner, team.locale1, parent_id=parent["id"])
    response = client.patch(
        f"{API}/assets/{child['id']}",
        json={"locale_id": str(team.locale2), "parent_id": parent["id"]},
        headers=team.owner.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "parent_locale"
    response = client.patch(
        f"{API}/assets/{child['id']}",
        json={"locale_id": str(team.locale2)},
        headers=team.owner.headers,
    )
    assert response.status_code == 200
    assert response.json()["parent_id"] is None
