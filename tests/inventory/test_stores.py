"""The stores: products' stores fields, warehouses and who manages them, stock settings,
adjustments, transfers, counts, movements and valuation through the API."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import UserRole
from kerops.inventory import ledger
from kerops.inventory.checks import barcode_ok
from kerops.inventory.models import InventoryMovement
from tests.fixtures.assets import create_product, make_product
from tests.fixtures.factories import Runner, make_locale, make_user, make_vendor, register_owner
from tests.fixtures.inventory import make_warehouse, receive
from tests.fixtures.tenancy import make_team
from tests.inventory.stores import API, adjust, created, ids, post, stock_of, warehouse


def _movements(run: Runner) -> int:
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(select(func.count(InventoryMovement.id)))).scalar_one())

    result: int = run(count)
    return result


def test_barcodes_are_checked_by_their_check_digit() -> None:
    assert barcode_ok("4006381333931")  # EAN-13
    assert barcode_ok("73513537")  # EAN-8
    assert barcode_ok("036000291452")  # UPC-A
    assert barcode_ok("10012345678902")  # GTIN-14
    assert not barcode_ok("4006381333932")
    assert not barcode_ok("123456789")
    assert not barcode_ok("٤٠٠٦٣٨١٣٣٣٩٣١")


def test_products_take_the_stores_fields(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    vendor = make_vendor(run, owner.client_id)
    product = create_product(
        client,
        owner,
        sku="FIL-1",
        barcode="4006381333931",
        preferred_vendor_id=str(vendor),
        vendor_sku="V-99",
        lead_time_days=7,
        unit="m",
    )
    assert product["barcode"] == "4006381333931" and product["lead_time_days"] == 7
    assert product["preferred_vendor_id"] == str(vendor) and product["is_stocked"] is True
    body = {"sku": "FIL-2", "name": "Filtro", "category": "spare_part"}
    bad: dict[str, dict[str, Any]] = {
        "invalid_barcode": {"barcode": "4006381333932"},
        "unknown_unit": {"unit": "furlong"},
        "validation_error": {"lead_time_days": 366},
    }
    for code, fields in bad.items():
        response = post(client, owner, "/products", {**body, **fields})
        assert response.status_code == 422 and response.json()["code"] == code, response.text
    taken = post(client, owner, "/products", {**body, "barcode": "4006381333931"})
    assert taken.status_code == 409 and taken.json()["code"] == "barcode_taken"
    other = register_owner(client)
    foreign = make_vendor(run, other.client_id)
    response = post(client, owner, "/products", {**body, "preferred_vendor_id": str(foreign)})
    assert response.status_code == 404
    patched = client.patch(
        f"{API}/products/{product['id']}", json={"unit": "parsec"}, headers=owner.headers
    )
    assert patched.status_code == 422 and patched.json()["code"] == "unknown_unit"


def test_warehouse_kinds_and_who_manages_them(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    owner = team.owner
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    central = warehouse(client, owner, "CENTRAL")
    van = warehouse(client, owner, "VAN-1", kind="van", technician_id=str(technician.id))
    room = warehouse(client, team.manager, "SALA-1", kind="locale", locale_id=str(team.locale1))
    # The shapes: a storeroom names its locale, a van its technician, a central store neither.
    for fields in (
        {"kind": "locale"},
        {"kind": "van"},
        {"kind": "central", "locale_id": str(team.locale1)},
    ):
        response = post(client, owner, "/warehouses", {"code": "X", "name": "X", **fields})
        assert response.status_code == 422 and response.json()["code"] == "warehouse_shape"
    taken = post(client, owner, "/warehouses", {"kind": "central", "code": "CENTRAL", "name": "X"})
    assert taken.status_code == 409 and taken.json()["code"] == "warehouse_code_taken"
    # A locale manager manages their locales' storerooms only.
    body = {"kind": "central", "code": "M-1", "name": "X"}
    assert post(client, team.manager, "/warehouses", body).status_code == 403
    other_room = {"kind": "locale", "code": "M-2", "name": "X", "locale_id": str(team.locale2)}
    assert post(client, team.manager, "/warehouses", other_room).status_code == 404
    assert (
        post(
            client, team.requester, "/warehouses", {**other_room, "locale_id": str(team.locale1)}
        ).status_code
        == 403
    )
    # Who reads what.
    seen = {
        "owner": {central, van, room},
        "manager": {room},
        "requester": {room},
        "technician": {van},
    }
    accounts = {
        "owner": owner,
        "manager": team.manager,
        "requester": team.requester,
        "technician": technician,
    }
    for name, account in accounts.items():
        listed = client.get(f"{API}/warehouses", headers=account.headers).json()["items"]
        assert {item["id"] for item in listed} == seen[name], name
    # A van's technician changes with a PATCH; only to a technician of the client.
    other = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    url = f"{API}/warehouses/{van}"
    moved = client.patch(url, json={"technician_id": str(other.id)}, headers=owner.headers)
    assert moved.status_code == 200 and moved.json()["technician_id"] == str(other.id)
    stranger = register_owner(client)
    refused = client.patch(url, json={"technician_id": str(stranger.id)}, headers=owner.headers)
    assert refused.status_code == 404
    filtered = client.get(f"{API}/warehouses", params={"kind": "van"}, headers=owner.headers)
    assert [item["id"] for item in filtered.json()["items"]] == [van]


def test_a_warehouse_that_held_stock_or_a_locale_with_one_stays(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    owner = team.owner
    bare = make_locale(run, team.client_id, "Local Nuevo")
    room = warehouse(client, owner, "SALA", kind="locale", locale_id=str(bare))
    empty = warehouse(client, owner, "VACIA")
    product = make_product(run, team.client_id)
    receive(run, team.client_id, uuid.UUID(room), product, 1)
    response = client.delete(f"{API}/warehouses/{room}", headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "warehouse_in_use"
    response = client.delete(f"{API}/locales/{bare}", headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "locale_in_use"
    assert client.delete(f"{API}/warehouses/{empty}", headers=owner.headers).status_code == 204
    # A product with movements is deactivated, not deleted.
    response = client.delete(f"{API}/products/{product}", headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "product_in_use"


def test_stock_settings_and_the_below_reorder_filter(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    central = warehouse(client, owner, "CENTRAL")
    low = create_product(client, owner, sku="LOW", name="Correa")
    fine = create_product(client, owner, sku="FINE", name="Filtro")
    service = create_product(client, owner, sku="SVC", name="Visita", is_stocked=False)
    body = {"warehouse_id": central, "product_id": low["id"], "reorder_point": 5}
    response = client.put(f"{API}/inventory/stock", json=body, headers=owner.headers)
    assert response.status_code == 200, response.text
    row = response.json()
    assert row["on_hand"] == "0" and row["available"] == "0" and row["reorder_point"] == "5"
    assert adjust(client, owner, central, low["id"], 3).status_code == 201
    assert adjust(client, owner, central, fine["id"], 9).status_code == 201
    settings = {"reorder_point": "2", "reorder_quantity": "10", "bin_location": "A-1"}
    fine_row = stock_of(client, owner, central, fine["id"])
    patched = client.patch(
        f"{API}/inventory/stock/{fine_row['id']}", json=settings, headers=owner.headers
    )
    assert patched.status_code == 200 and patched.json()["bin_location"] == "A-1"
    # Quantities are never typed.
    typed = client.patch(
        f"{API}/inventory/stock/{fine_row['id']}", json={"on_hand": 99}, headers=owner.headers
    )
    assert typed.status_code == 422
    below = client.get(
        f"{API}/inventory/stock", params={"below_reorder": True}, headers=owner.headers
    ).json()["items"]
    assert [item["product_id"] for item in below] == [low["id"]]
    assert below[0]["available"] == "3"
    found = client.get(f"{API}/inventory/stock", params={"q": "corr"}, headers=owner.headers)
    assert [item["product_id"] for item in found.json()["items"]] == [low["id"]]
    # A service is not kept in a warehouse.
    body = {"warehouse_id": central, "product_id": service["id"]}
    response = client.put(f"{API}/inventory/stock", json=body, headers=owner.headers)
    assert response.status_code == 409 and response.json()["code"] == "not_stocked"
    decimals = {"warehouse_id": central, "product_id": low["id"], "reorder_point": "1.5"}
    response = client.put(f"{API}/inventory/stock", json=decimals, headers=owner.headers)
    assert response.status_code == 422 and response.json()["code"] == "too_many_decimals"


def test_adjustments_average_the_cost_and_refuse_what_is_not_there(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)
    central = warehouse(client, owner, "CENTRAL")
    cable = create_product(client, owner, sku="CAB", name="Cable", unit="m")
    response = adjust(client, owner, central, cable["id"], "10", unit_cost_minor=1000)
    assert response.status_code == 201, response.text
    movement = response.json()
    assert movement["kind"] == "adjustment" and movement["quantity"] == "10"
    assert adjust(client, owner, central, cable["id"], "5", unit_cost_minor=1300).status_code == 201
    out = adjust(client, owner, central, cable["id"], "-2.5")
    assert out.status_code == 201 and out.json()["unit_cost_minor"] == 1100
    row = stock_of(client, owner, central, cable["id"])
    assert row["on_hand"] == "12.5" and row["average_cost_minor"] == 1100
    before = _movements(run)
    bad: list[tuple[dict[str, Any], int, str]] = [
        ({"quantity": "-13"}, 409, "insufficient_stock"),
        ({"quantity": "0"}, 422, "quantity_zero"),
        ({"quantity": "0.001"}, 422, "too_many_decimals"),
        ({"quantity": "-1", "unit_cost_minor": 5}, 422, "cost_of_decrease"),
        ({"quantity": "1", "reason": ""}, 422, "validation_error"),
        ({"quantity": "1", "reason": "   "}, 422, "validation_error"),
        ({"quantity": "abc"}, 422, "validation_error"),
        ({"quantity": "1" * 30}, 422, "validation_error"),
        ({"quantity": "NaN"}, 422, "validation_error"),
    ]
    for fields, status, code in bad:
        body = {"warehouse_id": central, "product_id": cable["id"], "reason": "x", **fields}
        response = post(client, owner, "/inventory/adjustments", body)
        assert (response.status_code, response.json()["code"]) == (status, code), fields
    insufficient = adjust(client, owner, central, cable["id"], "-13").json()
    assert insufficient["available"] == "12.5"
    assert _movements(run) == before
    assert stock_of(client, owner, central, cable["id"])["on_hand"] == "12.5"


def test_transfers_move_both_legs_or_nothing(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    owner = team.owner
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    central = warehouse(client, owner, "CENTRAL")
    van = warehouse(client, owner, "VAN", kind="van", technician_id=str(technician.id))
    filt = create_product(client, owner, sku="FIL", name="Filtro")
    belt = create_product(client, owner, sku="BELT", name="Correa")
    adjust(client, owner, central, filt["id"], 10, unit_cost_minor=1200)
    adjust(client, owner, central, belt["id"], 1, unit_cost_minor=500)
    adjust(client, owner, van, filt["id"], 2, unit_cost_minor=600)
    lines = [{"product_id": filt["id"], "quantity": 4}]
    body = {"from_warehouse_id": central, "to_warehouse_id": van, "lines": lines, "note": "ruta"}
    transfer = created(client, owner, "/inventory/transfers", body)
    assert stock_of(client, owner, central, filt["id"])["on_hand"] == "6"
    in_van = stock_of(client, owner, van, filt["id"])
    # (2 * 600 + 4 * 1200) / 6 = 1000
    assert in_van["on_hand"] == "6" and in_van["average_cost_minor"] == 1000
    detail = client.get(f"{API}/inventory/transfers/{transfer['id']}", headers=owner.headers)
    kinds = sorted((m["kind"], m["quantity"]) for m in detail.json()["movements"])
    assert kinds == [("transfer_in", "4"), ("transfer_out", "-4")]
    # The technician sees the transfer into their van, and only the leg of their van.
    seen = client.get(f"{API}/inventory/transfers/{transfer['id']}", headers=technician.headers)
    assert [m["kind"] for m in seen.json()["movements"]] == ["transfer_in"]
    # A line that cannot move leaves nothing moved.
    before = _movements(run)
    both = [{"product_id": filt["id"], "quantity": 1}, {"product_id": belt["id"], "quantity": 2}]
    response = post(client, owner, "/inventory/transfers", {**body, "lines": both})
    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert _movements(run) == before
    assert stock_of(client, owner, central, filt["id"])["on_hand"] == "6"
    same = post(client, owner, "/inventory/transfers", {**body, "to_warehouse_id": central})
    assert same.status_code == 422 and same.json()["code"] == "same_warehouse"
    twice = post(client, owner, "/inventory/transfers", {**body, "lines": lines * 2})
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_line"
    for quantity in (0, -1, "0.5"):
        wrong = [{"product_id": filt["id"], "quantity": quantity}]
        response = post(client, owner, "/inventory/transfers", {**body, "lines": wrong})
        assert response.status_code == 422, quantity
    assert _movements(run) == before
    # A technician moves from their van to a warehouse they read (their van only here), and
    # cannot take from the central store they do not manage.
    back = {"from_warehouse_id": van, "to_warehouse_id": central, "lines": lines}
    assert post(client, technician, "/inventory/transfers", back).status_code == 404
    assert post(client, technician, "/inventory/transfers", body).status_code == 404
    listed = client.get(
        f"{API}/inventory/transfers", params={"warehouse_id": van}, headers=owner.headers
    )
    assert [item["id"] for item in listed.json()["items"]] == [transfer["id"]]


def test_counts_post_the_differences_at_posting(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    central = warehouse(client, owner, "CENTRAL")
    filt = create_product(client, owner, sku="FIL", name="Filtro")
    belt = create_product(client, owner, sku="BELT", name="Correa")
    fee = create_product(client, owner, sku="FEE", name="Visita")
    adjust(client, owner, central, filt["id"], 10, unit_cost_minor=1000)
    adjust(client, owner, central, belt["id"], 4, unit_cost_minor=300)
    count = created(client, owner, "/inventory/counts", {"warehouse_id": central})
    expected = {line["product_id"]: line["expected"] for line in count["lines"]}
    assert expected == {filt["id"]: "10", belt["id"]: "4"}
    assert count["status"] == "open"
    # Stock moves during the count: posting compares with on hand at posting.
    adjust(client, owner, central, filt["id"], -1)
    url = f"{API}/inventory/counts/{count['id']}"
    counted = client.put(
        f"{url}/lines",
        json={"lines": [{"product_id": filt["id"], "counted": 7}]},
        headers=owner.headers,
    )
    assert counted.status_code == 200, counted.text
    line = next(x for x in counted.json()["lines"] if x["product_id"] == filt["id"])
    assert line["counted"] == "7" and line["counted_by_id"] == str(owner.id)
    outside = client.put(
        f"{url}/lines",
        json={"lines": [{"product_id": fee["id"], "counted": 1}]},
        headers=owner.headers,
    )
    assert outside.status_code == 422 and outside.json()["code"] == "not_in_count"
    posted = client.post(f"{url}/post", headers=owner.headers)
    assert posted.status_code == 200 and posted.json()["status"] == "posted"
    assert posted.json()["posted_by_id"] == str(owner.id)
    # 9 on hand at posting, 7 counted: one movement of -2; the uncounted belt does not move.
    moves = client.get(
        f"{API}/inventory/movements",
        params={"document_kind": "stock_count", "document_id": count["id"]},
        headers=owner.headers,
    ).json()["items"]
    assert [(m["kind"], m["quantity"], m["product_id"]) for m in moves] == [
        ("count", "-2", filt["id"])
    ]
    assert stock_of(client, owner, central, belt["id"])["on_hand"] == "4"
    again = client.post(f"{url}/post", headers=owner.headers)
    assert again.status_code == 409 and again.json()["code"] == "count_not_open"
    some = created(
        client, owner, "/inventory/counts", {"warehouse_id": central, "product_ids": [belt["id"]]}
    )
    assert [line["product_id"] for line in some["lines"]] == [belt["id"]]
    cancel = client.post(f"{API}/inventory/counts/{some['id']}/cancel", headers=owner.headers)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    service = {"warehouse_id": central, "product_ids": [fee["id"]]}
    listed = client.get(f"{API}/inventory/counts", headers=owner.headers).json()["items"]
    assert ids(listed) == ids([count, some])
    assert post(client, owner, "/inventory/counts", service).status_code == 201


def test_movements_filter_and_page(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    central = warehouse(client, owner, "CENTRAL")
    filt = create_product(client, owner, sku="FIL", name="Filtro")
    for _ in range(5):
        adjust(client, owner, central, filt["id"], 1, unit_cost_minor=100)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2, "warehouse_id": central, "kind": "adjustment"}
    while True:
        page = client.get(f"{API}/inventory/movements", params=params, headers=owner.headers)
        assert page.status_code == 200, page.text
        seen += [m["id"] for m in page.json()["items"]]
        if not page.json()["next_cursor"]:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert len(seen) == 5 and seen == sorted(seen)
    window = {"from": "2000-01-01T00:00:00Z", "to": "2001-01-01T00:00:00Z"}
    empty = client.get(f"{API}/inventory/movements", params=window, headers=owner.headers)
    assert empty.json()["items"] == []
    naive = client.get(
        f"{API}/inventory/movements", params={"from": "2020-01-01T00:00:00"}, headers=owner.headers
    )
    assert naive.status_code == 422
    one = client.get(f"{API}/inventory/movements/{seen[0]}", headers=owner.headers)
    assert one.status_code == 200 and one.json()["quantity"] == "1"


def test_valuation_per_warehouse_and_category(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    owner = team.owner
    central = warehouse(client, owner, "CENTRAL")
    room = warehouse(client, owner, "SALA", kind="locale", locale_id=str(team.locale1))
    cable = create_product(client, owner, sku="CAB", name="Cable", unit="m")
    kit = create_product(client, owner, sku="KIT", name="Kit", category="hardware_kit")
    adjust(client, owner, central, cable["id"], "2.5", unit_cost_minor=333)  # 832.5 -> 833
    adjust(client, owner, room, kit["id"], 2, unit_cost_minor=1000)
    value = client.get(f"{API}/inventory/valuation", headers=owner.headers).json()
    assert value["total_minor"] == 2833
    assert {w["code"]: w["value_minor"] for w in value["warehouses"]} == {
        "CENTRAL": 833,
        "SALA": 2000,
    }
    assert {c["category"]: c["value_minor"] for c in value["categories"]} == {
        "spare_part": 833,
        "hardware_kit": 2000,
    }
    # A locale manager values only their storeroom.
    mine = client.get(f"{API}/inventory/valuation", headers=team.manager.headers).json()
    assert mine["total_minor"] == 2000 and len(mine["warehouses"]) == 1
    only = client.get(
        f"{API}/inventory/valuation", params={"warehouse_id": central}, headers=owner.headers
    ).json()
    assert only["total_minor"] == 833


def test_verify_finds_no_difference_after_the_routes(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    assert owner.client_id is not None
    central = make_warehouse(run, owner.client_id)
    product = make_product(run, owner.client_id)
    receive(run, owner.client_id, central, product, 3)
    assert adjust(client, owner, central, product, -1).status_code == 201
    assert run(lambda s: ledger.verify(s, client_id=owner.client_id)) == []


def test_each_kind_of_caller_reaches_what_the_rules_say(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    owner = team.owner
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    viewer = make_user(
        client, run, role=UserRole.client_member, client_id=team.client_id, client_role="viewer"
    )
    vendor_admin = make_user(
        client, run, role=UserRole.vendor_admin, vendor_id=make_vendor(run, None)
    )
    central = warehouse(client, owner, "CENTRAL")
    van = warehouse(client, owner, "VAN", kind="van", technician_id=str(technician.id))
    room = warehouse(client, owner, "SALA", kind="locale", locale_id=str(team.locale1))
    part = create_product(client, owner, sku="FIL", name="Filtro")
    for place in (central, van, room):
        assert adjust(client, owner, place, part["id"], 5, unit_cost_minor=100).status_code == 201
    # The technician adjusts their van only; the central store is out of their sight.
    assert adjust(client, technician, van, part["id"], -1).status_code == 201
    assert adjust(client, technician, central, part["id"], -1).status_code == 404
    # A locale manager adjusts their storeroom; a requester of it reads but may not.
    assert adjust(client, team.manager, room, part["id"], -1).status_code == 201
    assert adjust(client, team.requester, room, part["id"], -1).status_code == 403
    # A client-wide viewer reads every stock and changes none.
    assert adjust(client, viewer, central, part["id"], -1).status_code == 403
    rows = client.get(f"{API}/inventory/stock", headers=viewer.headers).json()["items"]
    assert {row["warehouse_id"] for row in rows} == {central, van, room}
    # A vendor's admin sees nothing of the client's stock.
    for path in ("/warehouses", "/inventory/stock", "/inventory/movements", "/inventory/counts"):
        listed = client.get(f"{API}{path}", headers=vendor_admin.headers)
        assert listed.status_code in (200, 403) and not listed.json().get("items"), path
    assert adjust(client, vendor_admin, central, part["id"], -1).status_code == 404
