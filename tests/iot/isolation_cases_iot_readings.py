"""Isolation cases of IoT rules and readings, aimed at client A's device and rule."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.types import uuid7
from kerops.iot.models import IoTRule
from tests.assets.isolation_cases_assets import a_objects
from tests.isolation import Case, World, public

P = "/api/v1"
DEVICE = "/iot-devices/{device_id}"
RULES = f"{DEVICE}/rules"
RULE = f"{RULES}/{{rule_id}}"


def a_rule(w: World) -> uuid.UUID:
    """A rule on A's device (a Core insert: no audit row)."""

    def make() -> uuid.UUID:
        device = a_objects(w)["device"]
        rule_id = uuid7()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(IoTRule).values(
                    id=rule_id,
                    client_id=w.a_owner.client_id,
                    device_id=device,
                    name="A Too hot",
                    metric="temperature",
                    kind="above",
                    threshold=30.0,
                )
            )

        w.run(create)
        w.remember(rule_id)
        return rule_id

    result: uuid.UUID = w.once("iot_a_rule", make)
    return result


def _device(w: World) -> dict[str, Any]:
    return {"device_id": a_objects(w)["device"]}


def _rule(w: World) -> dict[str, Any]:
    return {"device_id": a_objects(w)["device"], "rule_id": a_rule(w)}


CASES = {
    ("POST", f"{P}{RULES}"): Case(
        params=_device,
        body=lambda w: {
            "name": "Intruso",
            "metric": "temperature",
            "kind": "above",
            "threshold": 1,
        },
    ),
    ("GET", f"{P}{RULES}"): Case(params=_rule),
    ("GET", f"{P}{RULE}"): Case(params=_rule),
    ("PATCH", f"{P}{RULE}"): Case(params=_rule, body=lambda w: {"threshold": 99}),
    ("DELETE", f"{P}{RULE}"): Case(params=_rule),
    ("GET", f"{P}{DEVICE}/readings"): Case(params=_device),
}

PUBLIC = {
    ("POST", f"{P}/iot/readings"): public(
        "authenticated by a device credential (X-Device-Key), not a user: a batch reaches only "
        "the key's device (and, for a gateway, devices of its own client and locale); "
        "tests/iot/test_readings_ingestion.py proves keys of one client never reach another's"
    ),
}
