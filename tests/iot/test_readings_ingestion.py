"""Ingesting readings over HTTP: device keys, per-reading checks, idempotency, meters, gateways."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.iot.models import IoTDevice
from tests.fixtures.factories import Runner
from tests.iot.readings_helpers import (
    API,
    READINGS,
    add_device,
    iso,
    make_sensor,
    post,
    send,
    stored_count,
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


def _device(run: Runner, device_id: str) -> IoTDevice:
    async def load(session: AsyncSession) -> IoTDevice:
        device = await session.get(IoTDevice, uuid.UUID(device_id))
        assert device is not None
        return device

    result: IoTDevice = run(load)
    return result


def test_a_batch_is_stored_and_marks_the_device_seen(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    now = datetime.now(UTC)
    result = send(
        client,
        sensor.key,
        [
            {"metric": "temperature", "value": 21.5, "ts": iso(now - timedelta(seconds=30))},
            {"metric": "temperature", "value": 22, "ts": (now - timedelta(seconds=20)).timestamp()},
            {"metric": "temperature", "value": 22.5, "unit": "C"},
        ],
    )
    assert result == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert stored_count(run, sensor.id) == 3
    seen = _device(run, sensor.id).last_seen_at
    assert seen is not None and abs((seen - now).total_seconds()) < 60
    body = client.get(f"{API}/iot-devices/{sensor.id}/readings", headers=sensor.team.owner.headers)
    assert body.status_code == 200, body.text
    values = [item["value"] for item in body.json()["items"]]
    assert values == [21.5, 22.0, 22.5]


def test_a_bare_list_is_a_batch_too(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    response = client.post(
        READINGS, json=[{"metric": "temperature", "value": 1}], headers={"X-Device-Key": sensor.key}
    )
    assert response.json()["accepted"] == 1


def test_a_resent_batch_stores_nothing_twice(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    batch = [{"metric": "temperature", "value": i, "message_id": f"m-{i}"} for i in range(5)]
    assert send(client, sensor.key, batch)["accepted"] == 5
    again = send(
        client, sensor.key, [*batch, {"metric": "temperature", "value": 9, "message_id": "m-9"}]
    )
    assert again == {"accepted": 1, "duplicates": 5, "rejected": []}
    assert stored_count(run, sensor.id) == 6


def test_a_message_id_twice_in_one_batch_is_stored_once(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    reading = {"metric": "temperature", "value": 1, "message_id": "same"}
    assert send(client, sensor.key, [reading, reading]) == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": [],
    }


def test_a_resent_reading_without_message_id_is_known_by_its_device_time(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run, metrics={"humidity": "%"})
    at = datetime.now(UTC) - timedelta(minutes=1)
    batch = [
        {"metric": "temperature", "value": 1, "ts": iso(at)},
        {"metric": "humidity", "value": 40, "ts": iso(at)},
        {"metric": "temperature", "value": 2, "ts": int(at.timestamp()) - 60},
    ]
    assert send(client, sensor.key, batch)["accepted"] == 3
    # The same readings again (one with another value: the first one stays), and a new one.
    again = [*batch[:2], {**batch[2], "value": 5}, {**batch[0], "ts": iso(at - timedelta(hours=1))}]
    assert send(client, sensor.key, again) == {"accepted": 1, "duplicates": 3, "rejected": []}
    assert stored_count(run, sensor.id) == 4


def test_a_device_time_twice_in_one_batch_is_stored_once(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, device_type="meter", unit="h", metrics={"run_hours": "h"})
    reading = {"metric": "run_hours", "value": 100.0, "ts": iso(datetime.now(UTC))}
    assert send(client, sensor.key, [reading, {**reading, "value": 999.0}]) == {
        "accepted": 1,
        "duplicates": 1,
        "rejected": [],
    }
    # The copy is dropped before storing: the meter is the stored reading's.
    assert _meters(run, sensor.asset["id"]) == {"run_hours": 100.0}


def test_readings_without_message_id_or_time_are_always_stored(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run)
    reading = {"metric": "temperature", "value": 1}
    assert send(client, sensor.key, [reading, reading])["accepted"] == 2
    assert send(client, sensor.key, [reading])["accepted"] == 1
    assert stored_count(run, sensor.id) == 3


def test_message_ids_are_per_device(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    other = add_device(client, sensor)
    reading = {"metric": "temperature", "value": 1, "message_id": "m-1"}
    assert send(client, sensor.key, [reading])["accepted"] == 1
    assert send(client, other["credential"], [reading])["accepted"] == 1


NOW = "__now__"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("not an object", "malformed"),
        ({"metric": "temperature"}, "malformed"),
        ({"metric": "temperature", "value": "21"}, "malformed"),
        ({"metric": "temperature", "value": True}, "malformed"),
        ({"metric": "temp erature", "value": 1}, "malformed"),
        ({"metric": "temperature", "value": 1, "colour": "red"}, "malformed"),
        ({"metric": "temperature", "value": 1, "ts": "yesterday"}, "malformed"),
        ({"metric": "temperature", "value": 1, "ts": "2026-01-01T00:00:00"}, "malformed"),
        ({"metric": "temperature", "value": 1, "message_id": ""}, "malformed"),
        ({"metric": "humidity", "value": 1}, "unknown_metric"),
        ({"metric": "temperature", "value": 1, "unit": "F"}, "wrong_unit"),
        ({"metric": "temperature", "value": 1e300}, "value_not_finite"),
        ({"metric": "temperature", "value": 10**400}, "value_not_finite"),
        ({"metric": "temperature", "value": 1, "ts": "+1h"}, "time_in_future"),
        ({"metric": "temperature", "value": 1, "ts": "-40d"}, "time_too_old"),
        ({"metric": "temperature", "value": 1, "device": "NO-SUCH-SERIAL"}, "unknown_device"),
    ],
)
def test_a_bad_reading_is_reported_and_the_others_are_stored(
    client: TestClient, run: Runner, entry: Any, reason: str
) -> None:
    sensor = make_sensor(client, run)
    if isinstance(entry, dict) and entry.get("ts") in ("+1h", "-40d"):
        delta = timedelta(hours=1) if entry["ts"] == "+1h" else -timedelta(days=40)
        entry = {**entry, "ts": iso(datetime.now(UTC) + delta)}
    good = {"metric": "temperature", "value": 20}
    result = send(client, sensor.key, [good, entry, good])
    assert result["accepted"] == 2
    assert [(r["index"], r["reason"]) for r in result["rejected"]] == [(1, reason)]
    assert stored_count(run, sensor.id) == 2


def test_non_finite_json_numbers_are_rejected(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    body = (
        b'{"readings": [{"metric": "temperature", "value": NaN},'
        b' {"metric": "temperature", "value": Infinity}]}'
    )
    response = client.post(
        READINGS,
        content=body,
        headers={"X-Device-Key": sensor.key, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [r["reason"] for r in response.json()["rejected"]] == ["value_not_finite"] * 2


def test_extra_metrics_are_accepted_in_their_units(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, metrics={"humidity": "%"})
    result = send(
        client,
        sensor.key,
        [
            {"metric": "humidity", "value": 40, "unit": "%"},
            {"metric": "humidity", "value": 40, "unit": "C"},
        ],
    )
    assert result["accepted"] == 1 and result["rejected"][0]["reason"] == "wrong_unit"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"readings": 3}', b'{"values": []}', b'"text"'],
)
def test_a_wholly_malformed_body_is_a_problem(client: TestClient, run: Runner, body: bytes) -> None:
    sensor = make_sensor(client, run)
    response = client.post(
        READINGS,
        content=body,
        headers={"X-Device-Key": sensor.key, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "malformed_batch"


def test_an_oversize_batch_is_refused_whole(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    batch = [{"metric": "temperature", "value": 1}] * 5001
    response = post(client, sensor.key, batch)
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert stored_count(run, sensor.id) == 0


def test_an_oversize_body_is_refused_before_parsing(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    response = client.post(
        READINGS,
        content=b"[" + b" " * (5 * 1024 * 1024) + b"]",
        headers={"X-Device-Key": sensor.key, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_the_largest_batch_is_accepted(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    start = datetime.now(UTC) - timedelta(hours=2)
    batch = [
        {
            "metric": "temperature",
            "value": i % 50,
            "ts": iso(start + timedelta(seconds=i)),
            "message_id": str(i),
        }
        for i in range(5000)
    ]
    assert send(client, sensor.key, batch)["accepted"] == 5000
    assert send(client, sensor.key, batch)["duplicates"] == 5000
    assert stored_count(run, sensor.id) == 5000


@pytest.mark.parametrize("key", [None, "", "kdv_AAAAAAAA_nope", "not-a-device-key"])
def test_a_missing_or_wrong_device_key_is_401(
    client: TestClient, run: Runner, key: str | None
) -> None:
    sensor = make_sensor(client, run)
    response = post(client, key, [{"metric": "temperature", "value": 1}])
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stored_count(run, sensor.id) == 0


def test_a_user_token_is_not_a_device_key(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    response = client.post(
        READINGS,
        json={"readings": [{"metric": "temperature", "value": 1}]},
        headers=sensor.team.owner.headers,
    )
    assert response.status_code == 401


def test_a_rotated_key_stops_working(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    rotated = client.post(
        f"{API}/iot-devices/{sensor.id}/rotate-credential", headers=sensor.team.owner.headers
    )
    assert rotated.status_code == 200
    assert post(client, sensor.key, [{"metric": "temperature", "value": 1}]).status_code == 401
    assert (
        send(client, rotated.json()["credential"], [{"metric": "temperature", "value": 1}])[
            "accepted"
        ]
        == 1
    )


def test_an_inactive_device_is_refused(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, status="inactive")
    response = post(client, sensor.key, [{"metric": "temperature", "value": 1}])
    assert response.status_code == 403 and response.json()["code"] == "device_inactive"


def test_a_gateway_sends_for_devices_of_its_locale(client: TestClient, run: Runner) -> None:
    gateway = make_sensor(client, run, device_type="gateway", unit="-")
    behind = add_device(client, gateway, serial_number="BEHIND-1")
    result = send(
        client,
        gateway.key,
        [
            {"device": "BEHIND-1", "metric": "temperature", "value": 5},
            {"device": "NOT-HERE", "metric": "temperature", "value": 5},
        ],
    )
    assert result["accepted"] == 1
    assert result["rejected"][0]["reason"] == "unknown_device"
    assert stored_count(run, behind["id"]) == 1
    assert _device(run, behind["id"]).last_seen_at is not None


def test_a_plain_device_cannot_send_for_another(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    other = add_device(client, sensor, serial_number="OTHER-1")
    result = send(client, sensor.key, [{"device": "OTHER-1", "metric": "temperature", "value": 5}])
    assert result["rejected"][0]["reason"] == "unknown_device"
    assert stored_count(run, other["id"]) == 0


def test_a_gateway_cannot_reach_another_clients_device(client: TestClient, run: Runner) -> None:
    gateway = make_sensor(client, run, device_type="gateway", unit="-")
    foreign = make_sensor(client, run)
    serial = foreign.device["serial_number"]
    result = send(client, gateway.key, [{"device": serial, "metric": "temperature", "value": 5}])
    assert result["rejected"][0]["reason"] == "unknown_device"
    assert stored_count(run, foreign.id) == 0


def test_readings_of_one_client_are_invisible_to_another(client: TestClient, run: Runner) -> None:
    mine = make_sensor(client, run)
    theirs = make_sensor(client, run)
    send(client, mine.key, [{"metric": "temperature", "value": 1}])
    url = f"{API}/iot-devices/{mine.id}/readings"
    for account in (theirs.team.owner, theirs.team.manager, mine.team.manager2):
        response = client.get(url, headers=account.headers)
        assert response.status_code == 404, response.text
    assert client.get(url, headers=mine.team.viewer.headers).status_code == 200


def _meters(run: Runner, asset_id: str) -> dict[str, Any]:
    async def load(session: AsyncSession) -> dict[str, Any]:
        asset = await session.get(Asset, uuid.UUID(asset_id))
        assert asset is not None
        return dict(asset.meter_readings)

    result: dict[str, Any] = run(load)
    return result


def test_a_meter_device_sets_the_assets_meter_to_its_newest_reading(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run, device_type="meter", unit="h", metrics={"run_hours": "h"})
    now = datetime.now(UTC)
    send(
        client,
        sensor.key,
        [
            {"metric": "run_hours", "value": 120.5, "ts": iso(now)},
            {"metric": "run_hours", "value": 119.0, "ts": iso(now - timedelta(minutes=5))},
        ],
    )
    assert _meters(run, sensor.asset["id"]) == {"run_hours": 120.5}


def test_a_metric_named_like_an_asset_meter_updates_it(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, metrics={"cycles": "n"})
    response = client.patch(
        f"{API}/assets/{sensor.asset['id']}",
        json={"meter_readings": {"cycles": 10, "km": 5}},
        headers=sensor.team.owner.headers,
    )
    assert response.status_code == 200, response.text
    send(
        client,
        sensor.key,
        [{"metric": "cycles", "value": 42}, {"metric": "temperature", "value": 3}],
    )
    assert _meters(run, sensor.asset["id"]) == {"cycles": 42, "km": 5}


def test_a_resent_meter_reading_leaves_the_meter_alone(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, device_type="meter", unit="h", metrics={"run_hours": "h"})
    now = datetime.now(UTC)
    newest = {"metric": "run_hours", "value": 120.0, "ts": iso(now)}
    send(client, sensor.key, [newest])
    # Its copy (same device time, another value) is not stored and so sets nothing: the meter
    # takes the batch's newest stored reading.
    older = {"metric": "run_hours", "value": 119.0, "ts": iso(now - timedelta(minutes=5))}
    assert send(client, sensor.key, [{**newest, "value": 999.0}, older])["accepted"] == 1
    assert _meters(run, sensor.asset["id"]) == {"run_hours": 119.0}
