"""The inventory's spreadsheets: products with what stores need, stock levels set through the
ledger, and their exports, which import again."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from python_calamine import CalamineWorkbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import LocalRole, MovementDocument, MovementKind, UserRole, WarehouseKind
from kerops.core.errors import Conflict
from kerops.inventory import ledger
from kerops.inventory.checks import barcode_ok
from kerops.inventory.models import InventoryMovement, InventoryStock, Product
from tests.fixtures.assets import make_product
from tests.fixtures.factories import Account, Runner, make_user, make_vendor
from tests.fixtures.inventory import make_warehouse, receive
from tests.fixtures.tenancy import Team, add_member, make_team
from tests.imports.helpers import API, FORMATS, count, problems

VALID_EAN = "7801234567894"


def _post(
    client: TestClient,
    account: Account,
    path: str,
    data: bytes,
    *,
    dry_run: bool = True,
    language: str = "es-CL",
) -> Response:
    return client.post(
        f"{API}{path}",
        files={"file": ("datos.csv", data, "application/octet-stream")},
        data={"dry_run": "true" if dry_run else "false"},
        headers={**account.headers, "Accept-Language": language},
    )


def _products(run: Runner, client_id: uuid.UUID) -> dict[str, Product]:
    async def read(session: AsyncSession) -> dict[str, Product]:
        rows = (await session.execute(select(Product).where(Product.client_id == client_id))).all()
        return {p.sku: p for (p,) in rows}

    found: dict[str, Product] = run(read)
    return found


def _stock(run: Runner, warehouse_id: uuid.UUID) -> dict[uuid.UUID, InventoryStock]:
    async def read(session: AsyncSession) -> dict[uuid.UUID, InventoryStock]:
        stmt = select(InventoryStock).where(InventoryStock.warehouse_id == warehouse_id)
        return {s.product_id: s for (s,) in (await session.execute(stmt)).all()}

    found: dict[uuid.UUID, InventoryStock] = run(read)
    return found


def _verify(run: Runner, client_id: uuid.UUID) -> list[ledger.Difference]:
    async def check(session: AsyncSession) -> list[ledger.Difference]:
        return await ledger.verify(session, client_id=client_id)

    found: list[ledger.Difference] = run(check)
    return found


def _set_unit(run: Runner, product_id: uuid.UUID, unit: str, **values: Any) -> None:
    async def change(session: AsyncSession) -> None:
        await session.execute(
            update(Product).where(Product.id == product_id).values(unit=unit, **values)
        )

    run(change)


def test_barcode_check_digits() -> None:
    assert barcode_ok(VALID_EAN)
    assert barcode_ok("036000291452")  # UPC-A
    assert barcode_ok("96385074")  # EAN-8
    assert not barcode_ok("7801234567893")


# --- products ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_products_import_takes_the_store_columns(client: TestClient, run: Runner, fmt: str) -> None:
    team = make_team(client, run)
    vendor = make_vendor(run, team.client_id, name="Filtros del Sur")
    rows = [
        [
            "SKU",
            "Nombre",
            "Categoría",
            "Unidad",
            "Código de barras",
            "Proveedor preferido",
            "SKU del proveedor",
            "Días de entrega",
            "Se almacena",
        ],
        ["FIL-1", "Filtro", "repuesto", "caja", VALID_EAN, "76086428-5", "AF-1", "7", "sí"],
        ["CAB-1", "Cable", "repuesto", "m", "", "Filtros del Sur", "", "", ""],
        ["HOR-1", "Hora", "consulting_hour", "h", "", "", "", "", "no"],
    ]
    response = _post(client, team.owner, "/products/import", FORMATS[fmt](rows), dry_run=False)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3
    products = _products(run, team.client_id)
    first = products["FIL-1"]
    assert (first.unit, first.barcode, first.preferred_vendor_id) == ("box", VALID_EAN, vendor)
    assert (first.vendor_sku, first.lead_time_days, first.is_stocked) == ("AF-1", 7, True)
    assert products["CAB-1"].preferred_vendor_id == vendor and products["CAB-1"].unit == "m"
    assert products["HOR-1"].is_stocked is False


def test_products_store_columns_problems_name_row_and_column(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    make_vendor(run, other.client_id, name="Ajeno")  # another client's vendor: unseen
    make_product(run, team.client_id, sku="OLD-1")

    async def give_barcode(session: AsyncSession) -> None:
        await session.execute(
            update(Product).where(Product.sku == "OLD-1").values(barcode=VALID_EAN)
        )

    run(give_barcode)
    rows = [
        ["SKU", "Name", "Category", "Unit", "Barcode", "Preferred vendor", "Lead time days"],
        ["A", "One", "spare_part", "bucket", "", "", ""],
        ["B", "Two", "spare_part", "unit", "7801234567893", "", ""],
        ["C", "Three", "spare_part", "unit", VALID_EAN, "", ""],
        ["D", "Four", "spare_part", "unit", "", "Ajeno", ""],
        ["E", "Five", "spare_part", "unit", "", "", "400"],
    ]
    response = _post(
        client, team.owner, "/products/import", FORMATS["csv_comma"](rows), language="en"
    )
    assert response.status_code == 200
    assert problems(response) == [
        (2, "Unit", "unknown_unit"),
        (3, "Barcode", "invalid_barcode"),
        (4, "Barcode", "barcode_taken"),
        (5, "Preferred vendor", "vendor_not_found"),
        (6, "Lead time days", "out_of_range"),
    ]
    real = _post(
        client,
        team.owner,
        "/products/import",
        FORMATS["csv_comma"](rows),
        dry_run=False,
        language="en",
    )
    assert real.status_code == 422 and real.json()["code"] == "import_invalid"
    assert set(_products(run, team.client_id)) == {"OLD-1"}


@pytest.mark.parametrize(("fmt", "language"), [("csv", "es-CL"), ("csv", "en"), ("xlsx", "en")])
def test_products_export_imports_again(
    client: TestClient, run: Runner, fmt: str, language: str
) -> None:
    team = make_team(client, run)
    make_vendor(run, None, name="Red KER")  # the platform's: both clients see it
    rows = [
        ["SKU", "Nombre", "Categoría", "Unidad", "Precio", "Costo", "Moneda"],
        [
            "FIL-1",
            "=Filtro" if fmt == "xlsx" else "Filtro",
            "repuesto",
            "unidad",
            "12.990",
            "8.500",
            "CLP",
        ],
        ["CAB-1", "Cable ñandú", "repuesto", "m", "10,50", "1,25", "USD"],
    ]
    extra = [["Proveedor preferido", "Código de barras", "Días de entrega", "Se almacena"]]
    extra += [["76.086.428-5", VALID_EAN, "3", "sí"], ["", "", "", "no"]]
    table = [a + b for a, b in zip(rows, extra, strict=True)]
    assert (
        _post(
            client, team.owner, "/products/import", FORMATS["csv_semicolon"](table), dry_run=False
        ).status_code
        == 200
    )
    exported = client.get(
        f"{API}/products/export",
        params={"format": fmt, "language": language},
        headers=team.owner.headers,
    )
    assert exported.status_code == 200
    other = make_team(client, run)
    again = _post(
        client, other.owner, "/products/import", exported.content, dry_run=False, language=language
    )
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 2
    mine, theirs = _products(run, team.client_id), _products(run, other.client_id)
    fields = (
        "name",
        "category",
        "unit",
        "price_minor",
        "cost_minor",
        "currency",
        "barcode",
        "preferred_vendor_id",
        "lead_time_days",
        "is_stocked",
        "is_active",
    )
    for sku in ("FIL-1", "CAB-1"):
        assert [getattr(theirs[sku], f) for f in fields] == [getattr(mine[sku], f) for f in fields]
    assert theirs["CAB-1"].price_minor == 1050


def test_products_export_is_the_admins_and_only_their_catalogue(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    other = make_team(client, run)
    make_product(run, team.client_id, sku="MINE-1")
    make_product(run, other.client_id, sku="THEIRS-1")
    make_product(run, None, sku="KER-1")
    response = client.get(f"{API}/products/export", headers=team.owner.headers)
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "MINE-1" in text and "THEIRS-1" not in text and "KER-1" not in text
    refused = client.get(f"{API}/products/export", headers=team.manager.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "export_forbidden"
    data = FORMATS["csv_comma"]([["SKU", "Name", "Category"], ["A-1", "Uno", "spare_part"]])
    assert _post(client, team.manager, "/products/import", data).status_code == 403


# --- stock levels --------------------------------------------------------------------------------


def _stocked_world(client: TestClient, run: Runner) -> tuple[Team, uuid.UUID, dict[str, uuid.UUID]]:
    team = make_team(client, run)
    warehouse = make_warehouse(run, team.client_id, code="CENTRAL")
    products = {
        sku: make_product(run, team.client_id, sku=sku) for sku in ("FIL-1", "CAB-1", "TOR-1")
    }
    _set_unit(run, products["CAB-1"], "m")
    return team, warehouse, products


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_stock_import_sets_quantities_through_the_ledger(
    client: TestClient, run: Runner, fmt: str
) -> None:
    team, warehouse, products = _stocked_world(client, run)
    receive(run, team.client_id, warehouse, products["FIL-1"], 10, unit_cost_minor=1000)
    receive(run, team.client_id, warehouse, products["TOR-1"], 4, unit_cost_minor=500)
    rows = [
        [
            "Bodega",
            "SKU",
            "Existencia",
            "Costo unitario",
            "Punto de reorden",
            "Cantidad de reorden",
            "Ubicación",
        ],
        ["central", "FIL-1", "15", "1300", "4", "10", "A-1"],  # +5 at 1.300
        ["CENTRAL", "CAB-1", "12,5", "200", "", "", ""],  # a new row, opening balance
        ["CENTRAL", "TOR-1", "1", "", "", "", "B-2"],  # -3 at the average
    ]
    response = _post(
        client, team.owner, "/inventory/stock/import", FORMATS[fmt](rows), dry_run=False
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3
    stock = _stock(run, warehouse)
    fil, cab, tor = (stock[products[s]] for s in ("FIL-1", "CAB-1", "TOR-1"))
    assert (fil.on_hand, fil.average_cost_minor, fil.reorder_point) == (15, 1100, 4)
    assert (fil.reorder_quantity, fil.bin_location) == (10, "A-1")
    assert (cab.on_hand, cab.average_cost_minor) == (Decimal("12.5"), 200)
    assert (tor.on_hand, tor.average_cost_minor, tor.bin_location) == (1, 500, "B-2")
    movements = count(
        run,
        InventoryMovement,
        InventoryMovement.document_kind == MovementDocument.stock_import,
        InventoryMovement.kind == MovementKind.adjustment,
        InventoryMovement.reason == "import",
    )
    assert movements == 3
    assert _verify(run, team.client_id) == []


def test_stock_import_problems_name_row_and_column_and_nothing_changes(
    client: TestClient, run: Runner
) -> None:
    team, warehouse, products = _stocked_world(client, run)
    receive(run, team.client_id, warehouse, products["FIL-1"], 10)
    service = make_product(run, team.client_id, sku="HOR-1")
    _set_unit(run, service, "h", is_stocked=False)
    rows = [
        ["Warehouse", "SKU", "On hand", "Reorder point", "Unit cost"],
        ["NOPE", "FIL-1", "1", "", ""],
        ["CENTRAL", "NOPE-1", "1", "", ""],
        ["CENTRAL", "FIL-1", "-1", "", ""],
        ["CENTRAL", "CAB-1", "1.255", "", ""],
        ["CENTRAL", "TOR-1", "2.5", "", ""],
        ["CENTRAL", "HOR-1", "1", "", ""],
        ["CENTRAL", "TOR-1", "abc", "1.5", "-3"],
        ["CENTRAL", "FIL-1", "3", "", "1.5"],
        ["CENTRAL", "CAB-1", "3", "", "9999999999999"],
    ]
    data = FORMATS["xlsx"](rows)
    response = _post(client, team.owner, "/inventory/stock/import", data, language="en")
    assert problems(response) == [
        (2, "Warehouse", "warehouse_not_found"),
        (3, "SKU", "product_not_found"),
        (4, "On hand", "negative_quantity"),
        (5, "On hand", "too_many_decimals"),
        (6, "On hand", "too_many_decimals"),
        (7, "SKU", "not_stocked"),
        (8, "On hand", "not_a_number"),
        (9, "Unit cost", "too_many_decimals"),
        (10, "Unit cost", "out_of_range"),
    ]
    real = _post(client, team.owner, "/inventory/stock/import", data, dry_run=False, language="en")
    assert real.status_code == 422 and real.json()["code"] == "import_invalid"
    assert _stock(run, warehouse)[products["FIL-1"]].on_hand == 10
    assert count(run, InventoryMovement, InventoryMovement.client_id == team.client_id) == 1


def test_stock_import_dry_run_writes_nothing(client: TestClient, run: Runner) -> None:
    team, warehouse, _skus = _stocked_world(client, run)
    data = FORMATS["csv_comma"]([["Warehouse", "SKU", "On hand"], ["CENTRAL", "FIL-1", "7"]])
    response = _post(client, team.owner, "/inventory/stock/import", data, language="en")
    assert response.status_code == 200
    assert response.json()["dry_run"] is True and response.json()["errors"] == []
    assert _stock(run, warehouse) == {}


def test_stock_import_refuses_duplicates_and_less_than_reserved(
    client: TestClient, run: Runner
) -> None:
    team, warehouse, products = _stocked_world(client, run)
    receive(run, team.client_id, warehouse, products["FIL-1"], 10)

    async def hold(session: AsyncSession) -> None:
        await ledger.reserve(
            session, warehouse_id=warehouse, product_id=products["FIL-1"], quantity=Decimal(4)
        )

    run(hold)
    rows = [
        ["Warehouse", "SKU", "On hand"],
        ["CENTRAL", "FIL-1", "3"],
        ["CENTRAL", "TOR-1", "1"],
        ["CENTRAL", "tor-1", "2"],
    ]
    response = _post(
        client, team.owner, "/inventory/stock/import", FORMATS["csv_comma"](rows), language="en"
    )
    assert problems(response) == [
        (2, "On hand", "below_reserved"),
        (4, "SKU", "duplicate_in_file"),
    ]


def test_stock_import_is_for_those_who_manage_the_warehouses(
    client: TestClient, run: Runner
) -> None:
    team, central, products = _stocked_world(client, run)
    storeroom = make_warehouse(
        run, team.client_id, kind=WarehouseKind.locale, locale_id=team.locale1, code="LOCAL-1"
    )
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    add_member(run, team.client_id, team.locale1, technician.id, LocalRole.viewer)
    make_warehouse(
        run,
        team.client_id,
        kind=WarehouseKind.van,
        technician_id=technician.id,
        code="VAN-1",
    )
    rows = [["Warehouse", "SKU", "On hand"], ["LOCAL-1", "FIL-1", "2"], ["CENTRAL", "FIL-1", "2"]]
    data = FORMATS["csv_comma"](rows)
    managed = _post(client, team.manager, "/inventory/stock/import", data, language="en")
    assert problems(managed) == [(3, "Warehouse", "warehouse_not_found")]
    for refused in (team.requester, team.viewer, technician):
        response = _post(client, refused, "/inventory/stock/import", data, language="en")
        assert response.status_code == 403, refused
        assert response.json()["code"] == "import_forbidden"
    one = FORMATS["csv_comma"]([["Warehouse", "SKU", "On hand"], ["LOCAL-1", "FIL-1", "2"]])
    assert (
        _post(
            client, team.manager, "/inventory/stock/import", one, dry_run=False, language="en"
        ).status_code
        == 200
    )
    assert _stock(run, storeroom)[products["FIL-1"]].on_hand == 2
    assert _stock(run, central) == {}


def test_stock_export_shows_what_the_caller_reads(client: TestClient, run: Runner) -> None:
    team, central, products = _stocked_world(client, run)
    storeroom = make_warehouse(
        run, team.client_id, kind=WarehouseKind.locale, locale_id=team.locale1, code="LOCAL-1"
    )
    receive(run, team.client_id, central, products["FIL-1"], 5)
    receive(run, team.client_id, storeroom, products["TOR-1"], 3)
    other = make_team(client, run)
    foreign = make_warehouse(run, other.client_id, code="AJENA")
    receive(run, other.client_id, foreign, make_product(run, other.client_id, sku="X-1"), 9)
    owner = client.get(
        f"{API}/inventory/stock/export", params={"language": "en"}, headers=team.owner.headers
    )
    lines = owner.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Warehouse,Sku,Product,Unit,On hand,Reserved,Available")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["CENTRAL", "FIL-1"],
        ["LOCAL-1", "TOR-1"],
    ]
    manager = client.get(
        f"{API}/inventory/stock/export", params={"language": "en"}, headers=team.manager.headers
    )
    assert [line.split(",")[:2] for line in manager.text.strip().splitlines()[1:]] == [
        ["LOCAL-1", "TOR-1"]
    ]
    requester = client.get(f"{API}/inventory/stock/export", headers=other.requester.headers)
    assert requester.status_code == 200 and len(requester.text.strip().splitlines()) == 1


@pytest.mark.parametrize(("fmt", "language"), [("csv", "es-CL"), ("xlsx", "en")])
def test_stock_export_imports_again_unchanged(
    client: TestClient, run: Runner, fmt: str, language: str
) -> None:
    team, warehouse, products = _stocked_world(client, run)
    receive(run, team.client_id, warehouse, products["CAB-1"], Decimal("2.25"), 1999)
    receive(run, team.client_id, warehouse, products["FIL-1"], 1500, 10)
    exported = client.get(
        f"{API}/inventory/stock/export",
        params={"format": fmt, "language": language},
        headers=team.owner.headers,
    )
    assert exported.status_code == 200
    if fmt == "xlsx":
        sheet = CalamineWorkbook.from_filelike(__import__("io").BytesIO(exported.content))
        rows = sheet.get_sheet_by_index(0).to_python()
        assert rows[1][:5] == ["CENTRAL", "CAB-1", "Filtro", "m", 2.25]
    before = count(run, InventoryMovement, InventoryMovement.client_id == team.client_id)
    again = _post(
        client,
        team.owner,
        "/inventory/stock/import",
        exported.content,
        dry_run=False,
        language=language,
    )
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 2
    assert count(run, InventoryMovement, InventoryMovement.client_id == team.client_id) == before
    stock = _stock(run, warehouse)
    assert stock[products["FIL-1"]].on_hand == 1500
    assert stock[products["CAB-1"]].on_hand == Decimal("2.25")


def test_stock_import_of_ten_thousand_rows(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    warehouses = [make_warehouse(run, team.client_id, code=f"W{i}") for i in range(10)]
    rows: list[list[Any]] = [["Warehouse", "SKU", "On hand", "Unit cost"]]

    async def catalogue(session: AsyncSession) -> None:
        await session.execute(
            Product.__table__.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "client_id": team.client_id,
                    "sku": f"P-{n:04d}",
                    "name": "Repuesto",
                    "category": "spare_part",
                    "description": "",
                    "unit": "unit",
                    "price_minor": 0,
                    "cost_minor": 0,
                    "currency": "CLP",
                    "is_active": True,
                    "vendor_sku": "",
                    "lead_time_days": 0,
                    "is_stocked": True,
                }
                for n in range(1000)
            ],
        )

    run(catalogue)
    for w in range(10):
        rows += [[f"W{w}", f"P-{n:04d}", str(n % 7 + 1), "100"] for n in range(1000)]
    response = _post(
        client, team.owner, "/inventory/stock/import", FORMATS["csv_comma"](rows), dry_run=False
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 10_000
    assert count(run, InventoryStock, InventoryStock.warehouse_id.in_(warehouses)) == 10_000
    assert count(run, InventoryMovement, InventoryMovement.client_id == team.client_id) == 10_000
    assert _verify(run, team.client_id) == []


def test_stock_template_names_the_stock_columns(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    response = client.get(
        f"{API}/imports/stock/template",
        params={"format": "csv", "language": "es-CL"},
        headers=team.owner.headers,
    )
    assert response.status_code == 200
    header = response.content.decode("utf-8-sig").splitlines()[0].split(";")
    assert header[:4] == ["Bodega", "Sku", "Existencia", "Costo unitario"]


def test_a_batch_decrease_past_the_available_stock_is_refused(
    client: TestClient, run: Runner
) -> None:
    team, warehouse, products = _stocked_world(client, run)
    receive(run, team.client_id, warehouse, products["FIL-1"], 3)

    async def take(session: AsyncSession) -> str:
        changes = [
            ledger.BatchMove(warehouse, products["FIL-1"], Decimal(-4)),
            ledger.BatchMove(warehouse, products["TOR-1"], Decimal(2), 700),
        ]
        try:
            await ledger.move_many(
                session,
                client_id=team.client_id,
                changes=changes,
                kind=MovementKind.adjustment,
                document_kind=MovementDocument.stock_import,
                document_id=None,
                actor_id=None,
            )
        except Conflict as exc:
            return str(exc.extra["available"])
        return "moved"

    assert run(take) == "3"
    assert _stock(run, warehouse)[products["FIL-1"]].on_hand == 3
    assert products["TOR-1"] not in _stock(run, warehouse)
