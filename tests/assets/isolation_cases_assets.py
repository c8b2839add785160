"""Isolation cases of assets, their history, downtime, QR codes and parts lists."""

from __future__ import annotations

import uuid
from typing import Any

from tests.fixtures.assets import make_asset, make_bom_line, make_device, make_product
from tests.isolation import Case, World, public

P = "/api/v1"
ASSET = "/assets/{asset_id}"
BOM = f"{ASSET}/bom"
LINE = f"{BOM}/{{line_id}}"


def a_objects(w: World) -> dict[str, uuid.UUID]:
    """A's asset, own product, parts-list line and device (Core inserts: no audit rows)."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        asset = make_asset(w.run, client_id, w.a_locale, "A Caldera", area_id=w.a_area)
        product = make_product(w.run, client_id, "A-SKU-1", "A Repuesto")
        line = make_bom_line(w.run, client_id, w.a_locale, asset, product)
        device = make_device(w.run, client_id, w.a_locale, asset, "A-SN-1")
        objects = {"asset": asset, "product": product, "line": line, "device": device}
        w.remember(*objects.values())
        return objects

    result: dict[str, uuid.UUID] = w.once("assets_a_objects", make)
    return result


def _asset(w: World) -> dict[str, Any]:
    return {"asset_id": a_objects(w)["asset"]}


def _line(w: World) -> dict[str, Any]:
    objects = a_objects(w)
    return {"asset_id": objects["asset"], "line_id": objects["line"]}


def _existing(w: World) -> dict[str, Any]:
    a_objects(w)
    return {}


CASES = {
    # An asset in A's locale, in A's area.
    ("POST", f"{P}/assets"): Case(
        body=lambda w: {"name": "Intruso", "locale_id": str(w.a_locale), "area_id": str(w.a_area)},
    ),
    ("GET", f"{P}/assets"): Case(params=_existing, kind="list"),
    ("GET", f"{P}{ASSET}"): Case(params=_asset),
    ("PATCH", f"{P}{ASSET}"): Case(
        params=_asset, body=lambda w: {"name": "Hacked", "status": "down", "status_reason": "x"}
    ),
    ("DELETE", f"{P}{ASSET}"): Case(params=_asset),
    ("GET", f"{P}{ASSET}/status-history"): Case(params=_asset),
    ("GET", f"{P}{ASSET}/downtime"): Case(
        params=_asset,
        query=lambda w: {"from": "2026-01-01T00:00:00+00:00", "to": "2026-02-01T00:00:00+00:00"},
    ),
    ("GET", f"{P}{ASSET}/qr"): Case(params=_asset, query=lambda w: {"format": "png"}),
    # A's own product onto A's asset.
    ("POST", f"{P}{BOM}"): Case(
        params=_asset,
        body=lambda w: {"product_id": str(a_objects(w)["product"]), "quantity": 2},
    ),
    ("GET", f"{P}{BOM}"): Case(params=_asset),
    ("PATCH", f"{P}{LINE}"): Case(params=_line, body=lambda w: {"quantity": 9}),
    ("DELETE", f"{P}{LINE}"): Case(params=_line),
}

PUBLIC = {
    ("GET", f"{P}/scan/{{code}}"): public(
        "the unguessable QR code is the credential; it shows only the asset's and locale's "
        "names and a count of open tickets, and is rate-limited per client address"
    ),
    ("POST", f"{P}/scan/{{code}}"): public(
        "anyone on site reports a fault on the scanned asset; the unguessable QR code is the "
        "credential, the answer holds only the new ticket's code and a message, and it is "
        "rate-limited per client address"
    ),
}
