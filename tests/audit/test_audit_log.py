"""The audit log: written with every change in its transaction, append-only, read by scope."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.auth.models import ApiKey
from kerops.core.deps import SessionDep, StaffDep
from kerops.core.enums import UserRole
from kerops.core.errors import Conflict
from kerops.core.security import hash_token, random_token
from kerops.core.types import uuid7
from kerops.system.models import Setting
from kerops.users.models import User
from tests.fixtures.factories import (
    Account,
    Runner,
    make_area,
    make_locale,
    make_staff,
    make_user,
    register_owner,
    unique_email,
)

URL = "/api/v1/audit-logs"
SETTINGS = "/api/v1/settings"


def rows_of_request(run: Runner, request_id: str) -> list[AuditLog]:
    async def load(session: AsyncSession) -> list[AuditLog]:
        stmt = select(AuditLog).where(AuditLog.request_id == request_id).order_by(AuditLog.id)
        return list((await session.execute(stmt)).scalars().all())

    rows: list[AuditLog] = run(load)
    return rows


def audit_count(run: Runner) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count()).select_from(AuditLog))).scalar_one())

    return int(run(count))


def put_setting(
    client: TestClient, headers: dict[str, str], key: str, value: Any, value_type: str = "int"
) -> Any:
    return client.put(
        f"{SETTINGS}/{key}", json={"value_type": value_type, "value": value}, headers=headers
    )


def walk(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of the audit list, page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        response = client.get(URL, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


# --- writing ----------------------------------------------------------------------------------


def test_a_create_writes_one_row_with_actor_request_id_and_ip(
    client: TestClient, run: Runner
) -> None:
    staff = make_staff(client, run)
    response = client.put(
        f"{SETTINGS}/tickets.sla_hours",
        json={"value_type": "int", "value": 24, "description": "SLA"},
        headers={**staff.headers, "X-Request-ID": "audit-create-1"},
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "audit-create-1"
    [row] = rows_of_request(run, "audit-create-1")
    assert row.action == "create"
    assert row.table_name == "settings"
    assert row.record_id == response.json()["id"]
    assert row.actor_user_id == staff.id and row.actor_api_key_id is None
    assert row.ip_address == "testclient"
    assert row.client_id is None
    assert row.changes["key"] == {"before": None, "after": "tickets.sla_hours"}
    assert row.changes["value"] == {"before": None, "after": 24}
    assert row.changes["description"] == {"before": None, "after": "SLA"}


def test_an_update_writes_one_row_with_only_the_changed_fields(
    client: TestClient, run: Runner
) -> None:
    staff = make_staff(client, run)
    put_setting(client, staff.headers, "tickets.sla_hours", 24)
    response = put_setting(client, staff.headers, "tickets.sla_hours", 48)
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    [row] = rows_of_request(run, request_id)
    assert row.action == "update" and row.record_id == response.json()["id"]
    assert row.actor_user_id == staff.id and row.ip_address == "testclient"
    assert row.changes == {"value": {"before": 24, "after": 48}}


def test_a_delete_writes_one_row_with_the_values_before(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    setting_id = put_setting(client, staff.headers, "feature.qr", True, "bool").json()["id"]
    response = client.delete(f"{SETTINGS}/feature.qr", headers=staff.headers)
    assert response.status_code == 204
    [row] = rows_of_request(run, response.headers["x-request-id"])
    assert row.action == "delete" and row.record_id == setting_id
    assert row.actor_user_id == staff.id
    assert row.changes["key"] == {"before": "feature.qr", "after": None}
    assert row.changes["value"] == {"before": True, "after": None}
    assert row.changes["value_type"] == {"before": "bool", "after": None}


def test_a_change_through_an_api_key_names_the_key(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    raw_key = "kro_" + random_token()
    key_id = uuid7()

    async def create_key(session: AsyncSession) -> None:
        session.add(
            ApiKey(
                id=key_id,
                user_id=staff.id,
                name="integration",
                prefix=raw_key[:12],
                key_hash=hash_token(raw_key),
                scopes=["read", "write"],
            )
        )

    run(create_key)
    response = put_setting(client, {"X-API-Key": raw_key}, "erp.sync_minutes", 15)
    assert response.status_code == 201, response.text
    [row] = rows_of_request(run, response.headers["x-request-id"])
    assert row.actor_api_key_id == key_id
    assert row.actor_user_id == staff.id
    assert row.action == "create" and row.table_name == "settings"


def test_a_user_sign_up_is_audited_with_the_password_hash_redacted(
    client: TestClient, run: Runner
) -> None:
    email = unique_email()
    response = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": "Correct-Horse-42", "full_name": "Ana"},
    )
    assert response.status_code == 201
    user_id = response.json()["id"]
    # The sign-up also creates the client's default workflow (audited rows of its own).
    rows = rows_of_request(run, response.headers["x-request-id"])
    [row] = [r for r in rows if r.table_name == "users"]
    assert (row.action, row.table_name, row.record_id) == ("create", "users", user_id)
    assert row.client_id == uuid.UUID(user_id)
    assert row.changes["password_hash"] == {"before": None, "after": "[redacted]"}
    assert row.changes["email"] == {"before": None, "after": email}

    async def stored_hash(session: AsyncSession) -> str:
        user = await session.get(User, uuid.UUID(user_id))
        assert user is not None and user.password_hash
        return user.password_hash

    password_hash = run(stored_hash)

    async def every_change(session: AsyncSession) -> list[Any]:
        return list((await session.execute(select(AuditLog.changes))).scalars().all())

    dumped = json.dumps(run(every_change))
    assert password_hash not in dumped
    assert "$argon2" not in dumped


# --- failures leave nothing -------------------------------------------------------------------


def test_a_refused_request_writes_no_row_and_changes_nothing(
    client: TestClient, run: Runner
) -> None:
    staff = make_staff(client, run)
    put_setting(client, staff.headers, "tickets.sla_hours", 24)
    before = audit_count(run)
    refused = put_setting(client, staff.headers, "tickets.sla_hours", "48")
    assert refused.status_code == 422
    assert rows_of_request(run, refused.headers["x-request-id"]) == []
    owner = register_owner(client)
    forbidden = put_setting(client, owner.headers, "tickets.sla_hours", 1)
    assert forbidden.status_code == 403
    after_login = audit_count(run)
    assert rows_of_request(run, forbidden.headers["x-request-id"]) == []
    assert client.get(f"{SETTINGS}/tickets.sla_hours", headers=staff.headers).json()["value"] == 24
    assert after_login > before  # the owner's sign-up and login were audited, nothing else
    assert audit_count(run) == after_login


def test_a_request_failing_after_its_write_rolls_back_the_row_and_the_change(
    client: TestClient, run: Runner
) -> None:
    router = APIRouter()

    @router.post("/api/v1/test-only/write-then-fail")
    async def write_then_fail(principal: StaffDep, session: SessionDep) -> None:
        session.add(Setting(key="half.done", value_type="int", value=1))
        await session.flush()  # the audit row is written here, in the same transaction
        raise Conflict("refused after the write")

    client.app.include_router(router)  # type: ignore[attr-defined]
    staff = make_staff(client, run)
    before = audit_count(run)
    response = client.post("/api/v1/test-only/write-then-fail", headers=staff.headers)
    assert response.status_code == 409
    assert rows_of_request(run, response.headers["x-request-id"]) == []
    assert audit_count(run) == before
    assert client.get(f"{SETTINGS}/half.done", headers=staff.headers).status_code == 404


def test_a_conflicting_create_writes_no_row(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    body = {"platform": "ios", "version": "1.0.0", "min_supported_version": "1.0.0"}
    assert client.post("/api/v1/app-versions", json=body, headers=staff.headers).status_code == 201
    before = audit_count(run)
    again = client.post("/api/v1/app-versions", json=body, headers=staff.headers)
    assert again.status_code == 409
    assert audit_count(run) == before


# --- append-only ------------------------------------------------------------------------------


def _some_row(run: Runner) -> AuditLog:
    async def load(session: AsyncSession) -> AuditLog:
        return (await session.execute(select(AuditLog).limit(1))).scalar_one()

    row: AuditLog = run(load)
    return row


def test_the_database_refuses_to_update_audit_rows(client: TestClient, run: Runner) -> None:
    register_owner(client)
    row = _some_row(run)

    async def tamper(session: AsyncSession) -> None:
        await session.execute(update(AuditLog).where(AuditLog.id == row.id).values(action="delete"))

    with pytest.raises(DBAPIError, match="append-only"):
        run(tamper)
    assert _some_row(run).action == row.action


def test_the_database_refuses_to_delete_audit_rows(client: TestClient, run: Runner) -> None:
    register_owner(client)
    before = audit_count(run)
    row = _some_row(run)

    async def erase(session: AsyncSession) -> None:
        await session.execute(delete(AuditLog).where(AuditLog.id == row.id))

    with pytest.raises(DBAPIError, match="append-only"):
        run(erase)
    assert audit_count(run) == before


# --- reading ----------------------------------------------------------------------------------


def _two_clients(client: TestClient, run: Runner) -> tuple[Account, Account, uuid.UUID]:
    a_owner = register_owner(client)
    b_owner = register_owner(client)
    assert a_owner.client_id and b_owner.client_id
    a_locale = make_locale(run, a_owner.client_id, "A Centro")
    make_area(run, a_owner.client_id, a_locale, "A Piso 1")
    make_locale(run, b_owner.client_id, "B Centro")
    return a_owner, b_owner, a_locale


def test_owners_see_only_their_own_clients_rows(client: TestClient, run: Runner) -> None:
    a_owner, b_owner, _ = _two_clients(client, run)
    a_items = walk(client, a_owner.headers, limit=2)
    b_items = walk(client, b_owner.headers, limit=2)
    assert a_items and b_items
    assert {i["client_id"] for i in a_items} == {str(a_owner.client_id)}
    assert {i["client_id"] for i in b_items} == {str(b_owner.client_id)}
    assert ("users", str(a_owner.id)) in {(i["table_name"], i["record_id"]) for i in a_items}
    b_row = b_items[0]["id"]
    assert client.get(f"{URL}/{b_row}", headers=a_owner.headers).status_code == 404
    assert client.get(f"{URL}/{b_row}", headers=b_owner.headers).json()["id"] == b_row
    assert client.get(f"{URL}/{uuid7()}", headers=a_owner.headers).status_code == 404


def test_staff_see_every_row(client: TestClient, run: Runner) -> None:
    a_owner, b_owner, _ = _two_clients(client, run)
    staff = make_staff(client, run)
    ids = {i["id"] for i in walk(client, staff.headers, limit=50)}

    async def all_ids(session: AsyncSession) -> set[str]:
        return {str(i) for i in (await session.execute(select(AuditLog.id))).scalars()}

    assert ids == run(all_ids)
    clients = {i["client_id"] for i in walk(client, staff.headers)}
    assert {str(a_owner.client_id), str(b_owner.client_id), None} <= clients


def test_other_roles_are_refused(client: TestClient, run: Runner) -> None:
    a_owner, _, _ = _two_clients(client, run)
    row_id = walk(client, a_owner.headers)[0]["id"]
    for role in (UserRole.client_member, UserRole.technician):
        account = make_user(client, run, role=role, client_id=a_owner.client_id)
        assert client.get(URL, headers=account.headers).status_code == 403
        assert client.get(f"{URL}/{row_id}", headers=account.headers).status_code == 403
    assert client.get(URL).status_code == 401


def test_there_are_no_write_routes(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    row_id = walk(client, staff.headers)[0]["id"]
    assert client.post(URL, json={}, headers=staff.headers).status_code == 405
    assert client.delete(f"{URL}/{row_id}", headers=staff.headers).status_code == 405
    assert client.patch(f"{URL}/{row_id}", json={}, headers=staff.headers).status_code == 405


def test_filters(client: TestClient, run: Runner) -> None:
    a_owner, _, a_locale = _two_clients(client, run)
    staff = make_staff(client, run)
    put_setting(client, staff.headers, "one.key", 1)
    put_setting(client, staff.headers, "one.key", 2)
    client.delete(f"{SETTINGS}/one.key", headers=staff.headers)
    h = staff.headers

    settings_rows = walk(client, h, table_name="settings")
    assert [r["action"] for r in settings_rows] == ["delete", "update", "create"]
    record_id = settings_rows[0]["record_id"]
    assert len(walk(client, h, record_id=record_id)) == 3
    assert [r["action"] for r in walk(client, h, table_name="settings", action="update")] == [
        "update"
    ]
    by_staff = walk(client, h, actor_user_id=str(staff.id))
    assert {r["table_name"] for r in by_staff} == {"settings"} and len(by_staff) == 3
    in_locale = walk(client, h, locale_id=str(a_locale))
    assert sorted(r["table_name"] for r in in_locale) == ["local_areas", "locales"]
    assert walk(client, a_owner.headers, locale_id=str(a_locale)) == in_locale
    assert walk(client, h, table_name="settings", action="create", record_id="nope") == []


def test_time_window_filters(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for key in ("k.one", "k.two", "k.three"):
        put_setting(client, staff.headers, key, 1)
    rows = list(reversed(walk(client, staff.headers, table_name="settings")))
    middle = datetime.fromisoformat(rows[1]["occurred_at"])
    after = walk(client, staff.headers, table_name="settings", occurred_from=middle.isoformat())
    assert [r["id"] for r in after] == [rows[2]["id"], rows[1]["id"]]
    before = walk(client, staff.headers, table_name="settings", occurred_to=middle.isoformat())
    assert [r["id"] for r in before] == [rows[0]["id"]]
    # another offset, same instant
    shifted = middle.astimezone(timezone(timedelta(hours=-3))).isoformat()
    assert len(walk(client, staff.headers, table_name="settings", occurred_from=shifted)) == 2
    naive = client.get(URL, params={"occurred_from": "2026-01-01T00:00:00"}, headers=staff.headers)
    assert naive.status_code == 422
    backwards = client.get(
        URL,
        params={
            "occurred_from": middle.isoformat(),
            "occurred_to": (middle - timedelta(seconds=1)).isoformat(),
        },
        headers=staff.headers,
    )
    assert backwards.status_code == 422


def test_bad_filters_are_refused(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for params in (
        {"action": "read"},
        {"actor_user_id": "not-a-uuid"},
        {"sort": "table_name"},
        {"cursor": "garbage"},
    ):
        response = client.get(URL, params=params, headers=staff.headers)
        assert response.status_code == 422, params


def test_pages_walk_every_row_once_newest_first(client: TestClient, run: Runner) -> None:
    staff = make_staff(client, run)
    for index in range(7):
        put_setting(client, staff.headers, f"walk.k{index}", index)

    async def expected(session: AsyncSession) -> list[str]:
        stmt = select(AuditLog.id).where(AuditLog.table_name == "settings")
        return [str(i) for i in (await session.execute(stmt)).scalars()]

    all_ids = run(expected)
    newest_first = walk(client, staff.headers, table_name="settings", limit=3)
    ids = [r["id"] for r in newest_first]
    assert len(ids) == 7 and sorted(ids) == sorted(all_ids)
    assert [uuid.UUID(i) for i in ids] == sorted((uuid.UUID(i) for i in ids), reverse=True)
    assert [r["record_id"] for r in newest_first][::-1] == [
        r["record_id"] for r in walk(client, staff.headers, table_name="settings", sort="id")
    ]
    by_time = walk(client, staff.headers, table_name="settings", sort="-occurred_at", limit=2)
    assert [r["id"] for r in by_time] == ids
    oldest = walk(client, staff.headers, table_name="settings", sort="occurred_at", limit=4)
    assert [r["id"] for r in oldest] == ids[::-1]


# --- what a row records equals each attribute's history ------------------------------------------


def _snapshot_by_history(obj: Any, *, changed_only: bool) -> dict[str, dict[str, Any]]:
    """The definition: every audited column's ORM history (what ``_snapshot`` reads faster)."""
    from sqlalchemy import inspect

    from kerops.core.audit import REDACTED, _plain

    state = inspect(obj)
    exclude = type(obj).__audit_exclude__
    changes: dict[str, dict[str, Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ("created_at", "updated_at"):
            continue
        history = state.attrs[key].history
        if changed_only and not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else (history.unchanged or [None])[0]
        if changed_only and _plain(before) == _plain(after):
            continue
        if key in exclude:
            changes[key] = {"before": REDACTED if before else None, "after": REDACTED}
        else:
            changes[key] = {"before": _plain(before), "after": _plain(after)}
    return changes


def test_each_rows_changes_equal_the_attributes_history(client: TestClient, run: Runner) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from kerops.core.audit import _snapshot
    from kerops.core.models import Base
    from kerops.operations.models import ServiceTicket
    from tests.fixtures.operations import create_ticket, move

    compared: list[tuple[str, str]] = []
    differ: list[Any] = []

    def compare(session: Session, _context: Any) -> None:
        for kind, objects, changed_only in (
            ("create", session.new, False),
            ("update", session.dirty, True),
            ("delete", session.deleted, False),
        ):
            for obj in objects:
                if not (isinstance(obj, Base) and type(obj).__audited__):
                    continue
                fast = _snapshot(obj, changed_only=changed_only)
                slow = _snapshot_by_history(obj, changed_only=changed_only)
                compared.append((kind, obj.__tablename__))
                if fast != slow:
                    differ.append((kind, obj.__tablename__, fast, slow))

    event.listen(Session, "after_flush", compare)
    try:
        owner = register_owner(client)
        locale_id = make_locale(run, owner.id)
        ticket = create_ticket(client, owner, locale_id)
        patched = client.patch(
            f"/api/v1/tickets/{ticket['id']}",
            json={"description": "", "title": "Renamed", "priority": "high"},
            headers=owner.headers,
        )
        assert patched.status_code == 200, patched.text
        assert move(client, owner, ticket["id"], "cancelled", comment="dup").status_code == 200
        staff = make_staff(client, run)
        put_setting(client, staff.headers, "tickets.sla_hours", 24)
        put_setting(client, staff.headers, "tickets.sla_hours", 24)  # the same value again
        put_setting(client, staff.headers, "tickets.sla_hours", 48)
        client.delete(f"{SETTINGS}/tickets.sla_hours", headers=staff.headers)

        async def by_hand(session: AsyncSession) -> None:
            user = await session.get(User, owner.id)
            assert user is not None
            user.password_hash = "changed"  # redacted
            user.phone = None
            user.phone = "+56 9 1234 5678"
            await session.flush()
            row = await session.get(ServiceTicket, uuid.UUID(ticket["id"]))
            assert row is not None
            row.title = row.title  # set again, unchanged
            row.ai_parts = [{"product_id": "p", "name": "Filtro"}]  # JSON replaced
            row.description = "changed then deleted"
            await session.flush()
            audit_rows = select(func.count()).select_from(AuditLog)
            before = (await session.execute(audit_rows)).scalar_one()
            row.title = row.title  # only set again: nothing changed, no row
            user.phone = user.phone
            await session.flush()
            assert (await session.execute(audit_rows)).scalar_one() == before
            setting = Setting(key="audit.equivalence", value_type="str", value="x")
            session.add(setting)
            await session.flush()
            setting.value = "y"
            setting.value_type = "str"  # set again, unchanged
            await session.delete(setting)  # changed, then deleted in the same flush
            await session.flush()

        run(by_hand)
    finally:
        event.remove(Session, "after_flush", compare)
    kinds = {kind for kind, _ in compared}
    assert kinds == {"create", "update", "delete"}
    assert {"service_tickets", "users", "settings"} <= {table for _, table in compared}
    assert differ == []
