"""Threshold rules: CRUD and access, each kind, hysteresis, cooldown, one ticket per trip."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus
from kerops.events.models import Event
from kerops.iot import ingest
from kerops.iot.models import IoTRule
from kerops.operations.models import ServiceTicket, TicketComment
from tests.fixtures.factories import Runner
from tests.iot.readings_helpers import API, Sensor, iso, make_sensor, send


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


def _rules_url(sensor: Sensor) -> str:
    return f"{API}/iot-devices/{sensor.id}/rules"


def make_rule(client: TestClient, sensor: Sensor, **fields: Any) -> dict[str, Any]:
    body = {"name": "Too hot", "metric": "temperature", "kind": "above", "threshold": 30, **fields}
    response = client.post(_rules_url(sensor), json=body, headers=sensor.team.owner.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def values(
    client: TestClient, sensor: Sensor, *series: float, start: datetime | None = None
) -> None:
    """Send readings one second apart, in one batch."""
    start = start or datetime.now(UTC) - timedelta(minutes=5)
    batch = [
        {"metric": "temperature", "value": v, "ts": iso(start + timedelta(seconds=i))}
        for i, v in enumerate(series)
    ]
    result = send(client, sensor.key, batch)
    assert result["accepted"] == len(series), result


def tickets(run: Runner, sensor: Sensor) -> list[ServiceTicket]:
    async def load(session: AsyncSession) -> list[ServiceTicket]:
        stmt = select(ServiceTicket).where(ServiceTicket.asset_id == uuid.UUID(sensor.asset["id"]))
        return list((await session.execute(stmt)).scalars())

    result: list[ServiceTicket] = run(load)
    return result


def comments(run: Runner, ticket_id: uuid.UUID) -> int:
    async def count(session: AsyncSession) -> int:
        stmt = select(func.count()).where(TicketComment.ticket_id == ticket_id)
        return int((await session.execute(stmt)).scalar_one())

    return int(run(count))


def alerts(run: Runner) -> list[Event]:
    async def load(session: AsyncSession) -> list[Event]:
        stmt = select(Event).where(Event.type == "sensor.alert").order_by(Event.created_at)
        return list((await session.execute(stmt)).scalars())

    result: list[Event] = run(load)
    return result


def rule_of(client: TestClient, sensor: Sensor, rule: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"{_rules_url(sensor)}/{rule['id']}", headers=sensor.team.owner.headers)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def age_last_trip(run: Runner, rule: dict[str, Any], minutes: int) -> None:
    """Pretend the rule's last acted trip was ``minutes`` ago (its cooldown passes)."""

    async def change(session: AsyncSession) -> None:
        await session.execute(
            update(IoTRule)
            .where(IoTRule.id == uuid.UUID(rule["id"]))
            .values(last_tripped_at=datetime.now(UTC) - timedelta(minutes=minutes))
        )

    run(change)


# --- CRUD and access -----------------------------------------------------------------------------


def test_managers_write_rules_and_viewers_read_them(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    team = sensor.team
    body = {"name": "Frío", "metric": "temperature", "kind": "below", "threshold": 2}
    created = client.post(_rules_url(sensor), json=body, headers=team.manager.headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["state"] == "ok" and rule["priority"] == "high" and rule["cooldown_minutes"] == 15
    assert (
        client.post(_rules_url(sensor), json=body, headers=team.viewer.headers).status_code == 403
    )
    listed = client.get(_rules_url(sensor), headers=team.viewer.headers)
    assert [r["id"] for r in listed.json()["items"]] == [rule["id"]]
    url = f"{_rules_url(sensor)}/{rule['id']}"
    assert client.patch(url, json={"threshold": 1}, headers=team.viewer.headers).status_code == 403
    changed = client.patch(url, json={"threshold": 1}, headers=team.manager.headers)
    assert changed.status_code == 200 and changed.json()["threshold"] == 1
    assert client.get(url, headers=team.manager2.headers).status_code == 404
    assert client.delete(url, headers=team.manager.headers).status_code == 204
    assert client.get(url, headers=team.owner.headers).status_code == 404


def test_a_rule_of_another_device_is_not_found_under_this_one(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run)
    rule = make_rule(client, sensor)
    other = client.post(
        f"{API}/iot-devices",
        json={
            "asset_id": sensor.asset["id"],
            "name": "B",
            "device_type": "temperature",
            "unit": "C",
            "serial_number": "OTHER",
        },
        headers=sensor.team.owner.headers,
    ).json()
    url = f"{API}/iot-devices/{other['id']}/rules/{rule['id']}"
    assert client.get(url, headers=sensor.team.owner.headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "above"},
        {"kind": "outside", "low": 5},
        {"kind": "outside", "low": 5, "high": 1},
        {"kind": "rate", "threshold": -1},
        {"kind": "no_data"},
        {"kind": "above", "threshold": 1, "metric": "humidity"},
    ],
)
def test_a_rule_must_fit_its_kind_and_device(
    client: TestClient, run: Runner, body: dict[str, Any]
) -> None:
    sensor = make_sensor(client, run)
    full = {"name": "R", "metric": "temperature", **body}
    response = client.post(_rules_url(sensor), json=full, headers=sensor.team.owner.headers)
    assert response.status_code == 422, response.text


def test_an_update_must_keep_the_rule_valid(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    rule = make_rule(client, sensor)
    url = f"{_rules_url(sensor)}/{rule['id']}"
    response = client.patch(url, json={"kind": "outside"}, headers=sensor.team.owner.headers)
    assert response.status_code == 422


# --- evaluation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "series"),
    [
        ({"kind": "above", "threshold": 30}, [25, 31]),
        ({"kind": "below", "threshold": 2}, [5, 1.5]),
        ({"kind": "outside", "low": 2, "high": 8}, [5, 9]),
        ({"kind": "outside", "low": 2, "high": 8}, [5, 1]),
        # 5 degrees in one second is 300 per minute
        ({"kind": "rate", "threshold": 100}, [5, 10]),
    ],
)
def test_each_kind_of_rule_trips_and_opens_a_ticket(
    client: TestClient, run: Runner, rule: dict[str, Any], series: list[float]
) -> None:
    sensor = make_sensor(client, run)
    made = make_rule(client, sensor, name="Alarma", priority="critical", **rule)
    values(client, sensor, series[0])
    assert tickets(run, sensor) == []
    values(
        client,
        sensor,
        series[1],
        start=datetime.now(UTC) - timedelta(minutes=5) + timedelta(seconds=1),
    )
    [ticket] = tickets(run, sensor)
    assert ticket.source == "sensor" and ticket.priority == "critical"
    assert ticket.status == TicketStatus.open and ticket.requester_id is None
    assert "Alarma" in ticket.title
    state = rule_of(client, sensor, made)
    assert state["state"] == "tripped" and state["ticket_id"] == str(ticket.id)
    assert state["trip_count"] == 1
    [event] = alerts(run)
    assert event.subject_id == uuid.UUID(made["id"])
    assert event.payload["ticket_id"] == str(ticket.id) and event.payload["ticket_opened"]


def test_a_slow_change_does_not_trip_a_rate_rule(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    make_rule(client, sensor, kind="rate", threshold=1)
    start = datetime.now(UTC) - timedelta(hours=1)
    batch = [
        {"metric": "temperature", "value": 20 + i * 0.5, "ts": iso(start + timedelta(minutes=i))}
        for i in range(10)
    ]
    send(client, sensor.key, batch)
    assert tickets(run, sensor) == []


def test_hysteresis_keeps_the_rule_tripped_until_the_value_is_back_by_the_margin(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run)
    rule = make_rule(client, sensor, threshold=30, hysteresis=2)
    values(client, sensor, 31, 29, 28.5)
    assert rule_of(client, sensor, rule)["state"] == "tripped"
    values(client, sensor, 27.9, start=datetime.now(UTC) - timedelta(minutes=1))
    state = rule_of(client, sensor, rule)
    assert state["state"] == "ok" and state["last_cleared_at"] is not None


def test_a_flapping_sensor_makes_one_ticket_and_a_comment_per_cooldown(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run)
    rule = make_rule(client, sensor, threshold=30, cooldown_minutes=15)
    for _ in range(5):  # trips and clears, within the cooldown
        values(client, sensor, 31, 25, 32, 20)
    [ticket] = tickets(run, sensor)
    assert comments(run, ticket.id) == 0
    assert len(alerts(run)) == 1
    # After the cooldown, a new trip comments on the still-open ticket.
    age_last_trip(run, rule, 20)
    values(client, sensor, 35, 20)
    assert [t.id for t in tickets(run, sensor)] == [ticket.id]
    assert comments(run, ticket.id) == 1
    assert rule_of(client, sensor, rule)["trip_count"] == 2
    # Once the ticket is closed, the next trip (after the cooldown) opens a new one.

    async def close(session: AsyncSession) -> None:
        await session.execute(
            update(ServiceTicket)
            .where(ServiceTicket.id == ticket.id)
            .values(status=TicketStatus.completed)
        )

    run(close)
    age_last_trip(run, rule, 20)
    values(client, sensor, 36)
    assert len(tickets(run, sensor)) == 2
    assert len(alerts(run)) == 3


def test_a_disabled_rule_does_nothing(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    make_rule(client, sensor, is_enabled=False)
    values(client, sensor, 99)
    assert tickets(run, sensor) == []


def test_concurrent_batches_open_one_ticket(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    make_rule(client, sensor, threshold=30, cooldown_minutes=0)
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def batch(value: float) -> None:
        async with state.db.sessions() as session:
            device = await ingest.authenticate(session, sensor.key)
            await ingest.ingest(
                session,
                device=device,
                readings=[{"metric": "temperature", "value": value}],
                settings=state.settings,
            )
            await session.commit()

    async def both() -> None:
        await asyncio.gather(*(batch(40 + i) for i in range(4)))

    client.portal.call(both)  # type: ignore[union-attr]
    assert len(tickets(run, sensor)) == 1
    assert len(alerts(run)) == 1


# --- no data -------------------------------------------------------------------------------------


def _run_job(client: TestClient, name: str, **kwargs: Any) -> None:
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]

    async def call() -> None:
        await jobs.run(name, **kwargs)

    client.portal.call(call)  # type: ignore[union-attr]


def test_a_silent_sensor_trips_its_no_data_rule_once(client: TestClient, run: Runner) -> None:
    sensor = make_sensor(client, run)
    rule = make_rule(
        client, sensor, name="Sin datos", kind="no_data", no_data_minutes=10, threshold=None
    )
    values(client, sensor, 20, start=datetime.now(UTC))
    _run_job(client, "iot.no_data")
    assert tickets(run, sensor) == []
    later = (datetime.now(UTC) + timedelta(minutes=11)).isoformat()
    _run_job(client, "iot.no_data", now=later)
    _run_job(client, "iot.no_data", now=later)
    [ticket] = tickets(run, sensor)
    assert "Sin datos" in ticket.title
    assert rule_of(client, sensor, rule)["state"] == "tripped"
    # Data again: the rule clears.
    values(client, sensor, 21, start=datetime.now(UTC))
    assert rule_of(client, sensor, rule)["state"] == "ok"


def test_a_device_that_never_reported_is_silent_since_the_rule_exists(
    client: TestClient, run: Runner
) -> None:
    sensor = make_sensor(client, run)
    make_rule(client, sensor, kind="no_data", no_data_minutes=5, threshold=None)
    _run_job(client, "iot.no_data")
    assert tickets(run, sensor) == []
    _run_job(client, "iot.no_data", now=(datetime.now(UTC) + timedelta(minutes=6)).isoformat())
    assert len(tickets(run, sensor)) == 1
