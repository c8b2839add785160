"""Isolation cases of IoT devices, aimed at client A's asset and device."""

from __future__ import annotations

from typing import Any

from tests.assets.isolation_cases_assets import a_objects
from tests.isolation import Case, World

P = "/api/v1"
DEVICE = "/iot-devices/{device_id}"


def _device(w: World) -> dict[str, Any]:
    return {"device_id": a_objects(w)["device"]}


def _existing(w: World) -> dict[str, Any]:
    a_objects(w)
    return {}


CASES = {
    # A device on A's asset.
    ("POST", f"{P}/iot-devices"): Case(
        body=lambda w: {
            "asset_id": str(a_objects(w)["asset"]),
            "name": "Intruso",
            "device_type": "temperature",
            "unit": "C",
            "serial_number": "X-SN-1",
        },
    ),
    ("GET", f"{P}/iot-devices"): Case(params=_existing, kind="list"),
    ("GET", f"{P}{DEVICE}"): Case(params=_device),
    ("PATCH", f"{P}{DEVICE}"): Case(params=_device, body=lambda w: {"status": "inactive"}),
    ("DELETE", f"{P}{DEVICE}"): Case(params=_device),
    ("POST", f"{P}{DEVICE}/rotate-credential"): Case(params=_device),
}
