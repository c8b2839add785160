"""Locales: create, validation, code uniqueness, plan limit, list, change and delete."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.core.enums import LocalRole, SubscriptionPlan, UserRole
from kerops.tenancy.models import Locale
from tests.fixtures.factories import (
    Runner,
    add_member,
    make_area,
    make_user,
    make_vendor,
    register_owner,
)
from tests.fixtures.tenancy import API, create_locale, make_team, staff, walk

LOCALES = f"{API}/locales"


# --- create --------------------------------------------------------------------------------------


def test_owner_creates_locale_with_defaults(client: TestClient) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner, name="Local Providencia", code="PRV-01")
    assert body["client_id"] == str(owner.client_id)
    assert body["country"] == "CL"
    assert body["timezone"] == "America/Santiago"
    assert body["is_active"] is True
    assert body["latitude"] is None and body["longitude"] is None
    assert body["code"] == "PRV-01"


def test_create_locale_is_audited(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner)

    async def entries(session: AsyncSession) -> list[AuditLog]:
        stmt = select(AuditLog).where(AuditLog.record_id == body["id"])
        return list((await session.execute(stmt)).scalars().all())

    rows = run(entries)
    assert [(r.action, r.table_name) for r in rows] == [("create", "locales")]
    assert rows[0].actor_user_id == owner.id
    assert str(rows[0].client_id) == str(owner.client_id)


def test_owner_may_name_own_client_id(client: TestClient) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner, client_id=str(owner.client_id))
    assert body["client_id"] == str(owner.client_id)


def test_owner_cannot_create_locale_for_another_client(client: TestClient) -> None:
    owner = register_owner(client)
    other = register_owner(client)
    response = client.post(
        LOCALES, json={"name": "X", "client_id": str(other.client_id)}, headers=owner.headers
    )
    assert response.status_code == 404


def test_staff_creates_locale_for_named_client(client: TestClient, run: Runner) -> None:
    admin = staff(client, run)
    owner = register_owner(client)
    body = create_locale(client, admin, client_id=str(owner.client_id))
    assert body["client_id"] == str(owner.client_id)
    listed = client.get(LOCALES, headers=owner.headers).json()["items"]
    assert [item["id"] for item in listed] == [body["id"]]


def test_staff_must_name_client(client: TestClient, run: Runner) -> None:
    admin = staff(client, run)
    response = client.post(LOCALES, json={"name": "X"}, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "client_id"]


def test_staff_cannot_create_locale_for_non_client(client: TestClient, run: Runner) -> None:
    admin = staff(client, run)
    team = make_team(client, run)
    response = client.post(
        LOCALES, json={"name": "X", "client_id": str(team.manager.id)}, headers=admin.headers
    )
    assert response.status_code == 422
    unknown = client.post(
        LOCALES, json={"name": "X", "client_id": str(uuid.uuid4())}, headers=admin.headers
    )
    assert unknown.status_code == 404


def test_members_technicians_and_vendor_admins_cannot_create_locales(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    vendor_admin = make_user(
        client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run, team.client_id)
    )
    for account in (team.manager, team.requester, team.viewer, technician, vendor_admin):
        response = client.post(LOCALES, json={"name": "X"}, headers=account.headers)
        assert response.status_code == 403, account.role


def test_unknown_timezone_is_a_field_error(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(
        LOCALES, json={"name": "X", "timezone": "Mars/Olympus"}, headers=owner.headers
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["loc"] for e in body["errors"]] == [["body", "timezone"]]


def test_other_valid_timezone_is_kept(client: TestClient) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner, timezone="America/Punta_Arenas")
    assert body["timezone"] == "America/Punta_Arenas"


def test_country_must_be_iso_alpha_2(client: TestClient) -> None:
    owner = register_owner(client)
    assert create_locale(client, owner, country="pe")["country"] == "PE"
    for bad in ("XX", "CHL", "C", "12"):
        response = client.post(LOCALES, json={"name": "X", "country": bad}, headers=owner.headers)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["loc"] == ["body", "country"]


def test_coordinates_come_together_and_in_range(client: TestClient) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner, latitude=-33.4489, longitude=-70.6693)
    assert (body["latitude"], body["longitude"]) == (-33.4489, -70.6693)
    for bad in (
        {"latitude": -33.4},
        {"longitude": -70.6},
        {"latitude": -33.4, "longitude": None},
        {"latitude": 90.5, "longitude": 0},
        {"latitude": 0, "longitude": -180.5},
    ):
        response = client.post(LOCALES, json={"name": "X", **bad}, headers=owner.headers)
        assert response.status_code == 422, bad


def test_unknown_fields_are_refused(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(LOCALES, json={"name": "X", "owner": "me"}, headers=owner.headers)
    assert response.status_code == 422


def test_code_is_unique_per_client(client: TestClient) -> None:
    owner = register_owner(client)
    create_locale(client, owner, code="STGO-1")
    response = client.post(LOCALES, json={"name": "X", "code": "STGO-1"}, headers=owner.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "code_taken"
    # another client may use the same code
    other = register_owner(client)
    assert create_locale(client, other, code="STGO-1")["code"] == "STGO-1"


def test_free_plan_allows_two_locales(client: TestClient) -> None:
    owner = register_owner(client)
    create_locale(client, owner)
    create_locale(client, owner)
    response = client.post(LOCALES, json={"name": "Tercero"}, headers=owner.headers)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "plan_limit_exceeded"
    assert body["limit"] == "max_locales"
    assert body["maximum"] == 2 and body["current"] == 2
    assert len(client.get(LOCALES, headers=owner.headers).json()["items"]) == 2


def test_plan_limit_counts_locales_created_by_staff(client: TestClient, run: Runner) -> None:
    admin = staff(client, run)
    owner = register_owner(client)
    for _ in range(2):
        create_locale(client, admin, client_id=str(owner.client_id))
    response = client.post(
        LOCALES, json={"name": "X", "client_id": str(owner.client_id)}, headers=admin.headers
    )
    assert response.status_code == 403 and response.json()["code"] == "plan_limit_exceeded"


# --- read and list -------------------------------------------------------------------------------


def test_times_are_timezone_aware_utc(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner, timezone="Pacific/Easter")
    created = datetime.fromisoformat(body["created_at"])
    updated = datetime.fromisoformat(body["updated_at"])
    assert created.utcoffset() == timedelta(0) and updated.utcoffset() == timedelta(0)

    async def stored(session: AsyncSession) -> datetime:
        locale = await session.get(Locale, uuid.UUID(body["id"]))
        assert locale is not None
        created_at: datetime = locale.created_at
        return created_at

    value = run(stored)
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert value == created
    fetched = client.get(f"{LOCALES}/{body['id']}", headers=owner.headers).json()
    assert datetime.fromisoformat(fetched["created_at"]) == created


def test_get_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.get(f"{LOCALES}/{team.locale1}", headers=team.owner.headers)
    assert response.status_code == 200 and response.json()["name"] == "Local Uno"
    assert client.get(f"{LOCALES}/{uuid.uuid4()}", headers=team.owner.headers).status_code == 404


def test_list_filters(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner, plan=SubscriptionPlan.pro)
    a = create_locale(client, owner, name="Mall Plaza Oeste", code="MPO", city="Cerrillos")
    b = create_locale(client, owner, name="Costanera", code="CST", city="Providencia", region="RM")
    c = create_locale(client, owner, name="Viña Centro", city="Viña del Mar", region="Valparaíso")
    client.patch(f"{LOCALES}/{c['id']}", json={"is_active": False}, headers=owner.headers)

    def ids(**params: Any) -> set[str]:
        response = client.get(LOCALES, params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert ids(q="plaza") == {a["id"]}
    assert ids(q="cst") == {b["id"]}  # code, case-insensitive
    assert ids(q="PROVID") == {b["id"]}  # city
    assert ids(city="providencia") == {b["id"]}
    assert ids(region="rm") == {b["id"]}
    assert ids(is_active=False) == {c["id"]}
    assert ids(is_active=True) == {a["id"], b["id"]}
    assert ids(q="%") == set()  # wildcards are literal
    assert ids() == {a["id"], b["id"], c["id"]}


def test_list_sorts_by_whitelisted_fields(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner, plan=SubscriptionPlan.pro)
    names = ["Bodega", "Almacén", "Central"]
    for name in names:
        create_locale(client, owner, name=name)

    def listed(sort: str) -> list[str]:
        response = client.get(LOCALES, params={"sort": sort}, headers=owner.headers)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert listed("name") == sorted(names)
    assert listed("-name") == sorted(names, reverse=True)
    assert listed("created_at") == names
    assert listed("-created_at") == names[::-1]
    bad = client.get(LOCALES, params={"sort": "timezone"}, headers=owner.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "sort"]


def test_keyset_pagination_walks_every_locale_once(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner, plan=SubscriptionPlan.pro)
    created = [create_locale(client, owner, name=f"Local {i % 3}")["id"] for i in range(8)]
    for sort in ("name", "-name", "created_at", "-created_at"):
        items, pages = walk(client, owner, LOCALES, limit=3, sort=sort)
        seen = [item["id"] for item in items]
        assert pages == 3, sort
        assert len(seen) == len(set(seen)) == 8, sort
        assert set(seen) == set(created), sort
        if sort.lstrip("-") == "name":
            keys = [(item["name"], item["id"]) for item in items]
            assert keys == sorted(keys, reverse=sort.startswith("-")), sort


def test_bad_cursor_is_422(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.get(LOCALES, params={"cursor": "nonsense"}, headers=owner.headers)
    assert response.status_code == 422


# --- update --------------------------------------------------------------------------------------


def test_owner_updates_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.patch(
        f"{LOCALES}/{team.locale1}",
        json={
            "name": "Local Uno Renovado",
            "city": "Ñuñoa",
            "latitude": -33.45,
            "longitude": -70.6,
        },
        headers=team.owner.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Local Uno Renovado" and body["city"] == "Ñuñoa"
    assert body["timezone"] == "America/Santiago"  # untouched
    cleared = client.patch(
        f"{LOCALES}/{team.locale1}",
        json={"latitude": None, "longitude": None},
        headers=team.owner.headers,
    )
    assert cleared.status_code == 200 and cleared.json()["latitude"] is None


def test_manager_updates_own_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.patch(
        f"{LOCALES}/{team.locale1}",
        json={"address": "Av. Siempre Viva 742"},
        headers=team.manager.headers,
    )
    assert response.status_code == 200
    assert response.json()["address"] == "Av. Siempre Viva 742"


def test_manager_cannot_change_client_id(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    response = client.patch(
        f"{LOCALES}/{team.locale1}",
        json={"client_id": str(other.client_id)},
        headers=team.manager.headers,
    )
    assert response.status_code == 422
    body = client.get(f"{LOCALES}/{team.locale1}", headers=team.owner.headers).json()
    assert body["client_id"] == str(team.client_id)


def test_requester_and_viewer_cannot_update(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    for account in (team.requester, team.viewer):
        response = client.patch(
            f"{LOCALES}/{team.locale1}", json={"name": "Nope"}, headers=account.headers
        )
        assert response.status_code == 403
    assert client.get(f"{LOCALES}/{team.locale1}", headers=team.owner.headers).json()["name"] == (
        "Local Uno"
    )


def test_update_refuses_nulls_bad_timezone_and_half_coordinates(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    url = f"{LOCALES}/{team.locale1}"
    for body, loc in (
        ({"name": None}, ["body", "name"]),
        ({"is_active": None}, ["body", "is_active"]),
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"latitude": 10}, ["body"]),
    ):
        response = client.patch(url, json=body, headers=team.owner.headers)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["loc"] == loc, body


def test_update_to_taken_code_is_409(client: TestClient, run: Runner) -> None:
    owner = make_user(client, run, role=UserRole.client_owner, plan=SubscriptionPlan.pro)
    create_locale(client, owner, code="A1")
    second = create_locale(client, owner, code="B1")
    url = f"{LOCALES}/{second['id']}"
    response = client.patch(url, json={"code": "A1"}, headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "code_taken"
    same = client.patch(url, json={"code": "B1", "name": "Same code"}, headers=owner.headers)
    assert same.status_code == 200


def test_deactivate_instead_of_delete(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.patch(
        f"{LOCALES}/{team.locale1}", json={"is_active": False}, headers=team.owner.headers
    )
    assert response.status_code == 200 and response.json()["is_active"] is False


# --- delete --------------------------------------------------------------------------------------


def test_owner_deletes_empty_locale(client: TestClient) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner)
    response = client.delete(f"{LOCALES}/{body['id']}", headers=owner.headers)
    assert response.status_code == 204
    assert client.get(f"{LOCALES}/{body['id']}", headers=owner.headers).status_code == 404
    # the slot is free again under the plan limit
    create_locale(client, owner)
    create_locale(client, owner)


def test_staff_deletes_empty_locale(client: TestClient, run: Runner) -> None:
    admin = staff(client, run)
    owner = register_owner(client)
    body = create_locale(client, owner)
    assert client.delete(f"{LOCALES}/{body['id']}", headers=admin.headers).status_code == 204


def test_delete_refused_while_locale_has_areas(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    body = create_locale(client, owner)
    assert owner.client_id is not None
    make_area(run, owner.client_id, uuid.UUID(body["id"]))
    response = client.delete(f"{LOCALES}/{body['id']}", headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "locale_not_empty"


def test_delete_refused_while_locale_has_members(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    body = create_locale(client, owner)
    member = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    add_member(run, owner.client_id, uuid.UUID(body["id"]), member.id, LocalRole.viewer)
    response = client.delete(f"{LOCALES}/{body['id']}", headers=owner.headers)
    assert response.status_code == 409
    assert client.get(f"{LOCALES}/{body['id']}", headers=owner.headers).status_code == 200


def test_manager_and_requester_cannot_delete(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    for account in (team.manager, team.requester, team.viewer):
        response = client.delete(f"{LOCALES}/{team.locale1}", headers=account.headers)
        assert response.status_code == 403, account.email
    assert client.get(f"{LOCALES}/{team.locale1}", headers=team.owner.headers).status_code == 200


def test_nul_characters_are_refused(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(LOCALES, json={"name": "Local\x00Uno"}, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
    response = client.get(LOCALES, params={"q": "a\x00"}, headers=owner.headers)
    assert response.status_code == 422
