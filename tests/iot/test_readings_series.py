"""A device's series: raw keyset pages, buckets computed in SQL, bounds; the retention job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.iot.models import IoTReading
from tests.fixtures.factories import Runner
from tests.iot.readings_helpers import API, Sensor, iso, make_sensor, send, stored_count


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


# A fixed hour of yesterday, so buckets are predictable.
BASE = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


def _series(client: TestClient, sensor: Sensor, **params: Any) -> Any:
    return client.get(
        f"{API}/iot-devices/{sensor.id}/readings", params=params, headers=sensor.team.owner.headers
    )


def _seed(client: TestClient, sensor: Sensor) -> None:
    # 10:00 to 11:59, one reading every 10 minutes: value = minutes since 10:00; plus humidity.
    batch: list[dict[str, Any]] = [
        {"metric": "temperature", "value": m, "ts": iso(BASE + timedelta(minutes=m))}
        for m in range(0, 120, 10)
    ]
    batch.append({"metric": "humidity", "value": 50, "ts": iso(BASE + timedelta(minutes=5))})
    assert send(client, sensor.key, batch)["accepted"] == 13


def test_hourly_buckets_aggregate_in_sql(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, metrics={"humidity": "%"})
    _seed(client, sensor)
    response = _series(
        client,
        sensor,
        **{"from": iso(BASE), "to": iso(BASE + timedelta(hours=3)), "bucket": "1h"},
        metric="temperature",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket"] == "1h"
    items = [(i["start"], i["min"], i["max"], i["avg"], i["count"]) for i in body["items"]]
    first = datetime.fromisoformat(body["items"][0]["start"])
    assert first == BASE
    assert [(m, x, a, c) for _, m, x, a, c in items] == [(0, 50, 25, 6), (60, 110, 85, 6)]


def test_buckets_group_by_metric(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, metrics={"humidity": "%"})
    _seed(client, sensor)
    body = _series(
        client,
        sensor,
        **{"from": iso(BASE), "to": iso(BASE + timedelta(minutes=15)), "bucket": "15m"},
    ).json()
    assert sorted((i["metric"], i["count"]) for i in body["items"]) == [
        ("humidity", 1),
        ("temperature", 2),
    ]


@pytest.mark.parametrize(("bucket", "count"), [("1m", 12), ("5m", 12), ("15m", 8), ("1d", 1)])
def test_every_bucket_width(client: TestClient, run: Runner, bucket: str, count: int) -> None:
    sensor = make_sensor(client, run, metrics={"humidity": "%"})
    _seed(client, sensor)
    body = _series(
        client,
        sensor,
        **{"from": iso(BASE), "to": iso(BASE + timedelta(hours=2)), "bucket": bucket},
        metric="temperature",
    ).json()
    assert len(body["items"]) == count
    assert sum(i["count"] for i in body["items"]) == 12


def test_too_many_buckets_is_422(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    response = _series(
        client, sensor, **{"from": iso(BASE - timedelta(days=8)), "to": iso(BASE), "bucket": "1m"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "too_many_buckets"


def test_a_reversed_range_is_422(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    response = _series(client, sensor, **{"from": iso(BASE), "to": iso(BASE - timedelta(hours=1))})
    assert response.status_code == 422


def test_raw_readings_come_in_keyset_pages_oldest_first(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run, metrics={"humidity": "%"})
    _seed(client, sensor)
    seen: list[float] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {
            "from": iso(BASE),
            "to": iso(BASE + timedelta(hours=2)),
            "metric": "temperature",
            "limit": 5,
        }
        if cursor:
            params["cursor"] = cursor
        body = _series(client, sensor, **params).json()
        seen.extend(i["value"] for i in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [float(m) for m in range(0, 120, 10)] and pages == 3
    assert _series(client, sensor, cursor="garbage").status_code == 422


def test_the_retention_job_deletes_old_readings_only(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    send(client, sensor.key, [{"metric": "temperature", "value": 1}])
    old = datetime.now(UTC) - timedelta(days=401)

    async def add_old(session: AsyncSession) -> None:
        await session.execute(
            insert(IoTReading),
            [
                {
                    "device_id": uuid.UUID(sensor.id),
                    "metric": "temperature",
                    "value": float(i),
                    "device_time": old,
                    "received_at": old,
                }
                for i in range(25)
            ],
        )

    run(add_old)
    assert stored_count(run, sensor.id) == 26
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def call() -> None:
        await jobs.run("iot.retention")

    client.portal.call(call)  # type: ignore[union-attr]
    assert stored_count(run, sensor.id) == 1
