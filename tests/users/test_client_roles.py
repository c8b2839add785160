"""Client-wide roles (admin, manager, viewer of every locale) and handing ownership over."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import ClientRole, UserRole
from kerops.tenancy.models import Locale
from kerops.users.models import Client, User
from tests.fixtures.factories import Account, Runner, login, make_locale, make_user, register_owner
from tests.fixtures.tenancy import API, Team, make_team

USERS = f"{API}/users"


def _client_wide(client: TestClient, run: Runner, team: Team, role: ClientRole) -> Account:
    """A member of the team's client holding ``role`` client-wide (no locale membership)."""
    return make_user(
        client, run, role=UserRole.client_member, client_id=team.client_id, client_role=role
    )


def _ticket(client: TestClient, who: Account, locale_id: Any) -> Any:
    body = {"title": "Fuga de agua", "locale_id": str(locale_id)}
    return client.post(f"{API}/tickets", json=body, headers=who.headers)


def _grant(client: TestClient, by: Account, user_id: Any, role: str | None) -> Any:
    return client.patch(f"{USERS}/{user_id}", json={"client_role": role}, headers=by.headers)


def _transfer(client: TestClient, by: Account, client_id: Any, user_id: Any) -> Any:
    return client.post(
        f"{API}/clients/{client_id}/transfer-ownership",
        json={"user_id": str(user_id)},
        headers=by.headers,
    )


@pytest.fixture
def team(client: TestClient, run: Runner) -> Team:
    return make_team(client, run)


@pytest.fixture
def foreign(client: TestClient, run: Runner) -> tuple[Account, uuid.UUID]:
    """Another client's owner and one of its locales."""
    owner = register_owner(client)
    assert owner.client_id is not None
    return owner, make_locale(run, owner.client_id, "Ajeno")


# --- viewer --------------------------------------------------------------------------------------


def test_viewer_reads_every_locale_even_one_created_after_the_grant(
    client: TestClient, run: Runner, team: Team, foreign: tuple[Account, uuid.UUID]
) -> None:
    viewer = _client_wide(client, run, team, ClientRole.viewer)
    later = client.post(f"{API}/locales", json={"name": "Nuevo"}, headers=team.owner.headers)
    assert later.status_code == 201, later.text
    ticket = _ticket(client, team.owner, later.json()["id"])
    assert ticket.status_code == 201, ticket.text

    listed = client.get(f"{API}/locales", headers=viewer.headers)
    assert {item["id"] for item in listed.json()["items"]} == {
        str(team.locale1),
        str(team.locale2),
        later.json()["id"],
    }
    assert client.get(f"{API}/locales/{later.json()['id']}", headers=viewer.headers).is_success
    read = client.get(f"{API}/tickets/{ticket.json()['id']}", headers=viewer.headers)
    assert read.status_code == 200
    people = client.get(USERS, headers=viewer.headers).json()["items"]
    assert str(team.manager2.id) in {p["id"] for p in people}
    _, foreign_locale = foreign
    assert client.get(f"{API}/locales/{foreign_locale}", headers=viewer.headers).status_code == 404


def test_viewer_gets_403_on_writes(client: TestClient, run: Runner, team: Team) -> None:
    viewer = _client_wide(client, run, team, ClientRole.viewer)
    renamed = client.patch(
        f"{API}/locales/{team.locale1}", json={"name": "Otro"}, headers=viewer.headers
    )
    assert renamed.status_code == 403
    assert _ticket(client, viewer, team.locale2).status_code == 403
    created = client.post(f"{API}/locales", json={"name": "X"}, headers=viewer.headers)
    assert created.status_code == 403
    invited = client.post(
        f"{USERS}/invite",
        json={"email": "x@example.cl", "full_name": "X", "role": "client_member"},
        headers=viewer.headers,
    )
    assert invited.status_code == 403
    assert client.get(f"{API}/audit-logs", headers=viewer.headers).status_code == 403


# --- manager -------------------------------------------------------------------------------------


def test_manager_manages_every_locale_even_one_created_after_the_grant(
    client: TestClient, run: Runner, team: Team, foreign: tuple[Account, uuid.UUID]
) -> None:
    manager = _client_wide(client, run, team, ClientRole.manager)
    later = client.post(f"{API}/locales", json={"name": "Nuevo"}, headers=team.owner.headers)
    later_id = later.json()["id"]

    renamed = client.patch(
        f"{API}/locales/{later_id}", json={"name": "Renombrado"}, headers=manager.headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renombrado"
    area = client.post(
        f"{API}/locales/{later_id}/areas", json={"name": "Piso"}, headers=manager.headers
    )
    assert area.status_code == 201, area.text
    ticket = _ticket(client, manager, team.locale2)
    assert ticket.status_code == 201, ticket.text
    changed = client.patch(
        f"{API}/tickets/{ticket.json()['id']}", json={"priority": "high"}, headers=manager.headers
    )
    assert changed.status_code == 200, changed.text
    _, foreign_locale = foreign
    assert _ticket(client, manager, foreign_locale).status_code == 404


def test_manager_has_no_owner_rights(client: TestClient, run: Runner, team: Team) -> None:
    manager = _client_wide(client, run, team, ClientRole.manager)
    created = client.post(f"{API}/locales", json={"name": "X"}, headers=manager.headers)
    assert created.status_code == 403
    workflow = client.post(f"{API}/workflows", json={"name": "Otro"}, headers=manager.headers)
    assert workflow.status_code == 403
    assert client.get(f"{API}/audit-logs", headers=manager.headers).status_code == 403
    assert _grant(client, manager, team.outsider.id, "viewer").status_code == 403
    deleted = client.delete(f"{API}/locales/{team.locale2}", headers=manager.headers)
    assert deleted.status_code == 403


# --- admin ---------------------------------------------------------------------------------------


def test_admin_has_the_owners_rights(client: TestClient, run: Runner, team: Team) -> None:
    admin = _client_wide(client, run, team, ClientRole.admin)
    created = client.post(f"{API}/locales", json={"name": "Sucursal"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    workflow = client.post(f"{API}/workflows", json={"name": "Propio"}, headers=admin.headers)
    assert workflow.status_code == 201, workflow.text
    logs = client.get(f"{API}/audit-logs", headers=admin.headers)
    assert logs.status_code == 200 and logs.json()["items"]
    invited = client.post(
        f"{USERS}/invite",
        json={
            "email": f"{uuid.uuid4().hex[:8]}@example.cl",
            "full_name": "Nueva",
            "role": "client_member",
            "client_role": "viewer",
        },
        headers=admin.headers,
    )
    assert invited.status_code == 201 and invited.json()["client_role"] == "viewer"
    granted = _grant(client, admin, team.outsider.id, "admin")
    assert granted.status_code == 200 and granted.json()["client_role"] == "admin"


def test_admin_cannot_close_the_account_nor_hand_it_over_nor_become_owner(
    client: TestClient, run: Runner, team: Team
) -> None:
    admin = _client_wide(client, run, team, ClientRole.admin)
    other_admin = _client_wide(client, run, team, ClientRole.admin)
    closed = client.post(f"{USERS}/{team.owner.id}/deactivate", headers=admin.headers)
    assert closed.status_code == 403
    assert _transfer(client, admin, team.client_id, admin.id).status_code == 403
    assert _transfer(client, admin, team.client_id, other_admin.id).status_code == 403
    own = client.patch(f"{USERS}/{admin.id}", json={"role": "client_owner"}, headers=admin.headers)
    assert own.status_code == 403
    assert _grant(client, admin, admin.id, None).status_code == 403
    owner_role = client.patch(
        f"{USERS}/{team.owner.id}", json={"role": "client_member"}, headers=admin.headers
    )
    assert owner_role.status_code == 403
    assert _grant(client, admin, team.owner.id, "viewer").status_code == 403
    me = client.get(f"{API}/clients/{team.client_id}", headers=admin.headers).json()
    assert me["owner_user_id"] == str(team.owner.id)


# --- granting and revoking -----------------------------------------------------------------------


def test_owner_grants_and_revokes_client_wide_roles(
    client: TestClient, run: Runner, team: Team
) -> None:
    member = team.outsider  # a member of the client without any locale
    assert client.get(f"{API}/locales/{team.locale2}", headers=member.headers).status_code == 404
    granted = _grant(client, team.owner, member.id, "viewer")
    assert granted.status_code == 200 and granted.json()["client_role"] == "viewer"
    assert client.get(f"{API}/locales/{team.locale2}", headers=member.headers).status_code == 200
    assert _ticket(client, member, team.locale2).status_code == 403
    promoted = _grant(client, team.owner, member.id, "manager")
    assert promoted.status_code == 200
    assert _ticket(client, member, team.locale2).status_code == 201
    revoked = _grant(client, team.owner, member.id, None)
    assert revoked.status_code == 200 and revoked.json()["client_role"] is None
    assert client.get(f"{API}/locales/{team.locale2}", headers=member.headers).status_code == 404


def test_client_wide_roles_are_for_members(client: TestClient, run: Runner, team: Team) -> None:
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    refused = _grant(client, team.owner, technician.id, "viewer")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["type"] == "client_role_invalid"
    assert _grant(client, team.owner, team.owner.id, "admin").status_code == 403
    # A member made a technician loses the client-wide role with the member role.
    _grant(client, team.owner, team.outsider.id, "manager")
    moved = client.patch(
        f"{USERS}/{team.outsider.id}", json={"role": "technician"}, headers=team.owner.headers
    )
    assert moved.status_code == 200 and moved.json()["client_role"] is None


def test_another_clients_owner_cannot_grant(
    client: TestClient, team: Team, foreign: tuple[Account, uuid.UUID]
) -> None:
    owner, _ = foreign
    assert _grant(client, owner, team.outsider.id, "admin").status_code == 404


# --- handing ownership over ----------------------------------------------------------------------


def _counts(run: Runner, client_id: uuid.UUID) -> tuple[int, int]:
    async def count(session: AsyncSession) -> tuple[int, int]:
        users = select(func.count()).select_from(User).where(User.client_id == client_id)
        locales = select(func.count()).select_from(Locale).where(Locale.client_id == client_id)
        return (await session.scalar(users)) or 0, (await session.scalar(locales)) or 0

    result: tuple[int, int] = run(count)
    return result


def test_owner_hands_the_client_to_an_admin(client: TestClient, run: Runner, team: Team) -> None:
    admin = _client_wide(client, run, team, ClientRole.admin)
    before = _counts(run, team.client_id)

    response = _transfer(client, team.owner, team.client_id, admin.id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(team.client_id) and body["owner_user_id"] == str(admin.id)
    new_owner = client.get(f"{USERS}/{admin.id}", headers=admin.headers).json()
    assert new_owner["role"] == "client_owner" and new_owner["client_role"] is None
    old_owner = client.get(f"{USERS}/{team.owner.id}", headers=admin.headers).json()
    assert old_owner["role"] == "client_member" and old_owner["client_role"] == "admin"
    assert old_owner["client_id"] == new_owner["client_id"] == str(team.client_id)
    assert _counts(run, team.client_id) == before  # no client_id changed

    # The old owner keeps an admin's rights, and no longer the owner's.
    created = client.post(f"{API}/locales", json={"name": "Después"}, headers=team.owner.headers)
    assert created.status_code == 201, created.text
    logs = client.get(
        f"{API}/audit-logs", params={"table_name": "clients"}, headers=team.owner.headers
    )
    assert logs.status_code == 200
    assert [row["record_id"] for row in logs.json()["items"]][:1] == [str(team.client_id)]
    again = _transfer(client, team.owner, team.client_id, team.owner.id)
    assert again.status_code == 403
    closing = client.post(f"{USERS}/{admin.id}/deactivate", headers=team.owner.headers)
    assert closing.status_code == 403
    # The new owner may hand it back.
    back = _transfer(client, admin, team.client_id, team.owner.id)
    assert back.status_code == 200 and back.json()["owner_user_id"] == str(team.owner.id)


def test_ownership_goes_only_to_an_active_admin_of_the_client(
    client: TestClient, run: Runner, team: Team, foreign: tuple[Account, uuid.UUID]
) -> None:
    manager = _client_wide(client, run, team, ClientRole.manager)
    admin = _client_wide(client, run, team, ClientRole.admin)
    not_admin = _transfer(client, team.owner, team.client_id, manager.id)
    assert not_admin.status_code == 422
    assert not_admin.json()["errors"][0]["type"] == "not_an_admin"
    assert _transfer(client, team.owner, team.client_id, team.owner.id).status_code == 409
    other_owner, _ = foreign
    assert _transfer(client, team.owner, team.client_id, other_owner.id).status_code == 404
    assert _transfer(client, team.owner, other_owner.client_id, admin.id).status_code == 404
    assert _transfer(client, other_owner, team.client_id, admin.id).status_code == 404
    viewer = _client_wide(client, run, team, ClientRole.viewer)
    assert _transfer(client, viewer, team.client_id, admin.id).status_code == 403
    client.post(f"{USERS}/{admin.id}/deactivate", headers=team.owner.headers)
    inactive = _transfer(client, team.owner, team.client_id, admin.id)
    assert inactive.status_code == 422


def test_the_plan_stays_with_the_client(client: TestClient, run: Runner, team: Team) -> None:
    admin = _client_wide(client, run, team, ClientRole.admin)
    assert _transfer(client, team.owner, team.client_id, admin.id).status_code == 200

    async def plans(session: AsyncSession) -> Any:
        return (
            await session.execute(select(Client.plan).where(Client.id == team.client_id))
        ).scalar_one()

    assert run(plans).value == "enterprise"
    assert (
        client.get(f"{API}/clients/{team.client_id}", headers=team.manager.headers).json()["plan"]
        == "enterprise"
    )


def test_a_new_owner_signs_in_with_the_owners_rights(
    client: TestClient, run: Runner, team: Team
) -> None:
    admin = _client_wide(client, run, team, ClientRole.admin)
    _transfer(client, team.owner, team.client_id, admin.id)
    tokens = login(client, admin.email)
    fresh = Account(
        id=admin.id,
        email=admin.email,
        role=UserRole.client_owner,
        client_id=team.client_id,
        tokens=tokens,
    )
    back = _transfer(client, fresh, team.client_id, team.owner.id)
    assert back.status_code == 200


def test_an_api_key_hands_a_client_over_only_with_the_admin_scope(
    client: TestClient, run: Runner, team: Team
) -> None:
    admin = _client_wide(client, run, team, ClientRole.admin)

    def key(scopes: list[str]) -> dict[str, str]:
        made = client.post(
            f"{API}/api-keys",
            json={"name": "Integración", "scopes": scopes},
            headers=team.owner.headers,
        )
        assert made.status_code == 201, made.text
        return {"X-API-Key": made.json()["key"]}

    url = f"{API}/clients/{team.client_id}/transfer-ownership"
    body = {"user_id": str(admin.id)}
    refused = client.post(url, json=body, headers=key(["read", "write"]))
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    handed = client.post(url, json=body, headers=key(["read", "write", "admin"]))
    assert handed.status_code == 200 and handed.json()["owner_user_id"] == str(admin.id)
