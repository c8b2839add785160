"""Helpers of the IoT readings tests: a device with its key, posting batches, reading rows back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.iot.models import IoTReading
from tests.fixtures.assets import create_asset, create_device
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"
READINGS = f"{API}/iot/readings"


@dataclass
class Sensor:
    """A team with an asset and a device on it, and the device's key."""

    team: Team
    asset: dict[str, Any]
    device: dict[str, Any]

    @property
    def key(self) -> str:
        """The device credential."""
        return str(self.device["credential"])

    @property
    def id(self) -> str:
        """The device id."""
        return str(self.device["id"])


def make_sensor(client: TestClient, run: Runner, **device_fields: Any) -> Sensor:
    """A client with an asset and a temperature device (``°C``) on it."""
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    fields = {"device_type": "temperature", "unit": "C", **device_fields}
    device = create_device(client, team.owner, asset["id"], **fields)
    return Sensor(team=team, asset=asset, device=device)


def add_device(client: TestClient, sensor: Sensor, **fields: Any) -> dict[str, Any]:
    """Another device on the sensor's asset."""
    return create_device(client, sensor.team.owner, sensor.asset["id"], **fields)


def iso(at: datetime) -> str:
    """RFC 3339 in UTC."""
    return at.astimezone(UTC).isoformat()


def post(client: TestClient, key: str | None, readings: Any) -> Any:
    """POST a batch with the device key."""
    headers = {"X-Device-Key": key} if key is not None else {}
    return client.post(READINGS, json={"readings": readings}, headers=headers)


def send(client: TestClient, key: str, readings: list[dict[str, Any]]) -> dict[str, Any]:
    """POST a batch and expect 200."""
    response = post(client, key, readings)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def stored_count(run: Runner, device_id: str | uuid.UUID) -> int:
    """How many readings of a device are stored."""

    async def count(session: AsyncSession) -> int:
        stmt = select(func.count()).where(IoTReading.device_id == uuid.UUID(str(device_id)))
        return int((await session.execute(stmt)).scalar_one())

    return int(run(count))
