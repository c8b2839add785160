"""IoT devices: attached to assets, plan limits, unique serials and the device credential."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.core.enums import SubscriptionPlan
from kerops.core.security import hash_token
from kerops.iot.models import IoTDevice
from tests.fixtures.assets import create_asset, create_device, make_asset, set_plan_limit
from tests.fixtures.factories import Runner, register_owner
from tests.fixtures.tenancy import make_team, walk

API = "/api/v1"


def _stored(run: Runner, device_id: str) -> IoTDevice:
    async def load(session: AsyncSession) -> IoTDevice:
        device = await session.get(IoTDevice, uuid.UUID(device_id))
        assert device is not None
        return device

    result: IoTDevice = run(load)
    return result


def test_create_copies_the_asset_locale_and_shows_the_credential_once(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    device = create_device(client, team.manager, asset["id"], min_threshold=2, max_threshold=8)
    assert device["locale_id"] == str(team.locale1)
    assert device["client_id"] == str(team.client_id)
    credential = device["credential"]
    # the secret itself may contain "_": the prefix is the fixed-length head
    prefix, separator, secret = credential[:12], credential[12], credential[13:]
    assert separator == "_"
    assert prefix == device["credential_prefix"]
    assert prefix.startswith("kdv_") and len(prefix) == 12 and len(secret) >= 40
    stored = _stored(run, device["id"])
    assert stored.credential_hash == hash_token(credential)
    assert credential not in stored.credential_hash
    # Never again in reads or lists.
    response = client.get(f"{API}/iot-devices/{device['id']}", headers=team.owner.headers)
    assert "credential" not in response.json() and credential not in response.text
    items, _ = walk(client, team.owner, f"{API}/iot-devices")
    assert all("credential" not in i for i in items)


def test_credential_never_reaches_the_audit_log(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    device = create_device(client, team.owner, asset["id"])
    client.post(f"{API}/iot-devices/{device['id']}/rotate-credential", headers=team.owner.headers)

    async def rows(session: AsyncSession) -> list[Any]:
        stmt = select(AuditLog.changes).where(AuditLog.record_id == device["id"])
        return list((await session.execute(stmt)).scalars().all())

    changes = run(rows)
    assert len(changes) == 2
    hashed = _stored(run, device["id"]).credential_hash
    for change in changes:
        assert change["credential_hash"]["after"] == "[redacted]"
        assert hashed not in str(change) and hash_token(device["credential"]) not in str(change)


def test_rotate_credential_replaces_the_old_one(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    device = create_device(client, team.owner, asset["id"])
    response = client.post(
        f"{API}/iot-devices/{device['id']}/rotate-credential", headers=team.manager.headers
    )
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["credential"] != device["credential"]
    assert rotated["credential_prefix"] != device["credential_prefix"]
    stored = _stored(run, device["id"])
    assert stored.credential_hash == hash_token(rotated["credential"])
    assert stored.credential_hash != hash_token(device["credential"])
    response = client.post(
        f"{API}/iot-devices/{device['id']}/rotate-credential", headers=team.viewer.headers
    )
    assert response.status_code == 403


def test_serial_number_is_unique_per_client(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    assert other.client_id is not None
    from tests.fixtures.factories import make_locale

    other_locale = make_locale(run, other.client_id)
    asset = create_asset(client, team.owner, team.locale1)
    other_asset = create_asset(client, other, other_locale)
    create_device(client, team.owner, asset["id"], serial_number="SN-1")
    create_device(client, other, other_asset["id"], serial_number="SN-1")
    body = {
        "asset_id": asset["id"],
        "name": "X",
        "device_type": "t",
        "unit": "C",
        "serial_number": "SN-1",
    }
    response = client.post(f"{API}/iot-devices", json=body, headers=team.owner.headers)
    assert response.status_code == 409
    second = create_device(client, team.owner, asset["id"], serial_number="SN-2")
    response = client.patch(
        f"{API}/iot-devices/{second['id']}",
        json={"serial_number": "SN-1"},
        headers=team.owner.headers,
    )
    assert response.status_code == 409


def test_thresholds_and_status_are_checked(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    base = {"asset_id": asset["id"], "name": "X", "device_type": "t", "unit": "C"}
    for extra in (
        {"min_threshold": 5, "max_threshold": 1},
        {"status": "broken"},
        {"serial_number": ""},
        {"unit": ""},
    ):
        body = {"serial_number": uuid.uuid4().hex, **base, **extra}
        response = client.post(f"{API}/iot-devices", json=body, headers=team.owner.headers)
        assert response.status_code == 422, extra
    device = create_device(client, team.owner, asset["id"], min_threshold=0, max_threshold=10)
    url = f"{API}/iot-devices/{device['id']}"
    response = client.patch(url, json={"min_threshold": 11}, headers=team.owner.headers)
    assert response.status_code == 422
    response = client.patch(
        url, json={"status": "fault", "max_threshold": 20}, headers=team.owner.headers
    )
    assert response.status_code == 200
    assert response.json()["status"] == "fault" and response.json()["max_threshold"] == 20


def test_plan_limit_on_devices(client: TestClient, run: Runner) -> None:
    team = make_team(client, run, plan=SubscriptionPlan.basic)
    set_plan_limit(run, SubscriptionPlan.basic, max_iot_devices=1)
    asset = create_asset(client, team.owner, team.locale1)
    create_device(client, team.owner, asset["id"])
    body = {
        "asset_id": asset["id"],
        "name": "X",
        "device_type": "t",
        "unit": "C",
        "serial_number": "SN-9",
    }
    response = client.post(f"{API}/iot-devices", json=body, headers=team.owner.headers)
    assert response.status_code == 403
    assert response.json()["limit"] == "max_iot_devices"


def test_access_follows_the_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset1 = create_asset(client, team.owner, team.locale1)
    asset2 = create_asset(client, team.owner, team.locale2)
    device = create_device(client, team.owner, asset1["id"])
    url = f"{API}/iot-devices/{device['id']}"
    assert client.get(url, headers=team.viewer.headers).status_code == 200
    assert client.patch(url, json={"name": "V"}, headers=team.viewer.headers).status_code == 403
    assert client.delete(url, headers=team.requester.headers).status_code == 403
    assert client.get(url, headers=team.manager2.headers).status_code == 404
    assert client.get(url, headers=team.outsider.headers).status_code == 404
    body = {
        "asset_id": asset2["id"],
        "name": "X",
        "device_type": "t",
        "unit": "C",
        "serial_number": "Z",
    }
    response = client.post(f"{API}/iot-devices", json=body, headers=team.manager.headers)
    assert response.status_code == 404
    # The manager cannot move a device onto an asset of a locale they do not manage.
    response = client.patch(url, json={"asset_id": asset2["id"]}, headers=team.manager.headers)
    assert response.status_code == 404
    assert client.delete(url, headers=team.manager.headers).status_code == 204


def test_moving_a_device_follows_the_new_asset(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset1 = create_asset(client, team.owner, team.locale1)
    asset2 = create_asset(client, team.owner, team.locale2)
    device = create_device(client, team.owner, asset1["id"])
    response = client.patch(
        f"{API}/iot-devices/{device['id']}",
        json={"asset_id": asset2["id"]},
        headers=team.owner.headers,
    )
    assert response.status_code == 200
    assert response.json()["locale_id"] == str(team.locale2)


def test_foreign_asset_is_not_found(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    other = register_owner(client)
    assert other.client_id is not None
    from tests.fixtures.factories import make_locale

    foreign = make_asset(run, other.client_id, make_locale(run, other.client_id))
    body = {
        "asset_id": str(foreign),
        "name": "X",
        "device_type": "t",
        "unit": "C",
        "serial_number": "Z",
    }
    response = client.post(f"{API}/iot-devices", json=body, headers=team.owner.headers)
    assert response.status_code == 404


def test_list_filters(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset1 = create_asset(client, team.owner, team.locale1)
    asset2 = create_asset(client, team.owner, team.locale2)
    create_device(client, team.owner, asset1["id"], name="Temp", serial_number="T-1")
    create_device(
        client, team.owner, asset2["id"], name="Vibra", status="fault", serial_number="V-1"
    )

    def names(**params: Any) -> list[str]:
        items, _ = walk(client, team.owner, f"{API}/iot-devices", **params)
        return [i["name"] for i in items]

    assert names() == ["Temp", "Vibra"]
    assert names(asset_id=asset1["id"]) == ["Temp"]
    assert names(locale_id=str(team.locale2)) == ["Vibra"]
    assert names(status="fault") == ["Vibra"]
    assert names(q="v-1") == ["Vibra"]
    assert names(sort="-serial_number") == ["Vibra", "Temp"]
