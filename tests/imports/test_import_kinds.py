"""Importing locales, areas, products, users and maintenance plans; and the templates."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import AssetMaintenancePlan
from kerops.audit.models import AuditLog
from kerops.core.enums import SubscriptionPlan
from kerops.inventory.models import Product
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.users.models import User
from tests.fixtures.assets import set_plan_limit
from tests.fixtures.factories import Runner, unique_email
from tests.fixtures.tenancy import make_team
from tests.imports.helpers import API, FORMATS, count, post_import, problems, set_locale_code


def _rows(run: Runner, model: Any, *where: Any) -> list[Any]:
    async def read(session: AsyncSession) -> list[Any]:
        stmt = select(model)
        for clause in where:
            stmt = stmt.where(clause)
        return list((await session.execute(stmt)).scalars())

    return list(run(read))


# --- locales -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_locales_import_in_spanish_and_english(client: TestClient, run: Runner, fmt: str) -> None:
    team = make_team(client, run)
    es = FORMATS[fmt](
        [
            ["Código", "Nombre", "Comuna", "Latitud", "Longitud", "Activo"],
            ["SCL-1", "Providencia", "Providencia", "-33,4263", "-70,61", "sí"],
        ]
    )
    en = FORMATS[fmt]([["Code", "Name", "Active"], ["SCL-2", "Ñuñoa", "no"]])
    assert post_import(client, team.owner, "locales", es, dry_run=False).status_code == 200
    response = post_import(client, team.owner, "locales", en, dry_run=False, language="en")
    assert response.status_code == 200, response.text
    locales = {loc.code: loc for loc in _rows(run, Locale, Locale.client_id == team.client_id)}
    assert locales["SCL-1"].latitude == pytest.approx(-33.4263)
    assert locales["SCL-1"].city == "Providencia" and locales["SCL-1"].is_active
    assert locales["SCL-2"].name == "Ñuñoa" and not locales["SCL-2"].is_active
    assert count(run, AuditLog, AuditLog.table_name == "locales") >= 2


def test_locales_reimport_is_refused_and_plan_limit_holds(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    data = FORMATS["csv_semicolon"]([["Código", "Nombre"], ["A", "Uno"], ["B", "Dos"]])
    assert post_import(client, team.owner, "locales", data, dry_run=False).status_code == 200
    again = post_import(client, team.owner, "locales", data, dry_run=False)
    assert problems(again) == [(2, "Código", "already_exists"), (3, "Código", "already_exists")]
    before = count(run, Locale)
    set_plan_limit(run, SubscriptionPlan.enterprise, max_locales=before)
    more = FORMATS["csv_semicolon"]([["Código", "Nombre"], ["C", "Tres"]])
    response = post_import(client, team.owner, "locales", more, dry_run=False)
    assert response.status_code == 403 and response.json()["code"] == "plan_limit_exceeded"
    assert count(run, Locale) == before


def test_only_client_admins_import_locales(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    data = FORMATS["csv_comma"]([["Código", "Nombre"], ["A", "Uno"]])
    for account in (team.manager, team.requester):
        response = post_import(client, account, "locales", data)
        assert response.status_code == 403
    assert count(run, Locale, Locale.code == "A") == 0


# --- areas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_areas_nest_by_path_creating_parents_first(
    client: TestClient, run: Runner, fmt: str
) -> None:
    team = make_team(client, run)
    set_locale_code(run, team.locale1, "L1")
    rows = [
        ["Local", "Ruta", "Tipo"],
        ["L1", "Piso 1 / Sala de máquinas", "sala"],
        ["L1", "Piso 1", "piso"],
        ["Local Uno", "Piso 2 / Bodega / Estante A", ""],
    ]
    response = post_import(client, team.owner, "areas", FORMATS[fmt](rows), dry_run=False)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3
    areas = {a.name: a for a in _rows(run, LocalArea, LocalArea.locale_id == team.locale1)}
    assert set(areas) == {"Piso 1", "Sala de máquinas", "Piso 2", "Bodega", "Estante A"}
    assert areas["Sala de máquinas"].parent_id == areas["Piso 1"].id
    assert areas["Piso 1"].kind == "floor" and areas["Sala de máquinas"].kind == "room"
    assert areas["Estante A"].parent_id == areas["Bodega"].id
    again = post_import(client, team.owner, "areas", FORMATS[fmt](rows), dry_run=False)
    assert {p[2] for p in problems(again)} == {"already_exists"}
    assert count(run, LocalArea) == 5


def test_areas_need_a_managed_locale(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    set_locale_code(run, team.locale2, "L2")
    data = FORMATS["csv_comma"]([["Local", "Ruta"], ["L2", "Piso 1"]])
    response = post_import(client, team.manager, "areas", data)
    assert problems(response) == [(2, "Local", "locale_not_found")]
    assert post_import(client, team.requester, "areas", data).status_code == 403


# --- products ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_products_import_with_chilean_prices(client: TestClient, run: Runner, fmt: str) -> None:
    team = make_team(client, run)
    rows = [
        ["SKU", "Nombre", "Categoría", "Precio", "Moneda"],
        ["FIL-1", "Filtro", "repuesto", "12.990", "CLP"],
        ["SEN-1", "Sensor", "sensor_unit", "10,50", "USD"],
    ]
    response = post_import(client, team.owner, "products", FORMATS[fmt](rows), dry_run=False)
    assert response.status_code == 200, response.text
    products = {p.sku: p for p in _rows(run, Product, Product.client_id == team.client_id)}
    assert products["FIL-1"].price_minor == 12990
    assert products["FIL-1"].category.value == "spare_part"
    assert products["SEN-1"].price_minor == 1050 and products["SEN-1"].currency == "USD"


def test_products_bad_rows_are_all_listed(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    rows = [
        ["SKU", "Name", "Category", "Price"],
        ["A", "One", "gadget", "1"],
        ["B", "Two", "spare_part", "abc"],
        ["C", "Three", "spare_part", "1.5"],
    ]
    response = post_import(client, team.owner, "products", FORMATS["xlsx"](rows), language="en")
    assert problems(response) == [
        (2, "Category", "invalid_choice"),
        (3, "Price", "not_a_number"),
        (4, "Price", "too_many_decimals"),
    ]
    assert count(run, Product, Product.client_id == team.client_id) == 0


# --- users ---------------------------------------------------------------------------------------


def test_users_are_invited_and_made_members(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    set_locale_code(run, team.locale1, "L1")
    email = unique_email("importada")
    rows = [
        ["Correo", "Nombre completo", "Rol", "Local", "Rol en el local"],
        [email, "Ana Pérez", "miembro", "L1", "encargado"],
        [unique_email("tec"), "Tomás Soto", "técnico", "", ""],
    ]
    response = post_import(
        client, team.owner, "users", FORMATS["csv_semicolon"](rows), dry_run=False
    )
    assert response.status_code == 200, response.text
    (user,) = _rows(run, User, User.email == email)
    assert user.password_hash is None and user.client_id == team.client_id
    (member,) = _rows(run, LocalMember, LocalMember.user_id == user.id)
    assert member.locale_id == team.locale1 and member.role.value == "manager"
    assert client.app.state.kerops.sender.last_to(email) is not None  # type: ignore[attr-defined]
    again = post_import(client, team.owner, "users", FORMATS["csv_semicolon"](rows), dry_run=False)
    assert {p[2] for p in problems(again)} == {"already_exists"}


def test_users_import_needs_a_client_admin_and_respects_the_plan(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    rows = [["Email", "Full name", "Role"], [unique_email("x"), "X", "technician"]]
    data = FORMATS["csv_comma"](rows)
    assert post_import(client, team.manager, "users", data).status_code == 403
    set_plan_limit(run, SubscriptionPlan.enterprise, max_users=1)
    response = post_import(client, team.owner, "users", data, dry_run=False)
    assert response.status_code == 403 and response.json()["code"] == "plan_limit_exceeded"
    assert count(run, User, User.email == rows[1][0]) == 0


# --- plans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_plans_import_by_asset_code_with_recurrence(
    client: TestClient, run: Runner, fmt: str
) -> None:
    team = make_team(client, run)
    set_locale_code(run, team.locale1, "L1")
    assets = FORMATS["csv_comma"]([["Local", "Código", "Nombre"], ["L1", "CH-1", "Chiller"]])
    assert post_import(client, team.owner, "assets", assets, dry_run=False).status_code == 200
    rows = [
        ["Activo", "Nombre", "Disparador", "Unidad de intervalo", "Cada", "Fecha de inicio"],
        ["CH-1", "Trimestral", "fecha", "mes", "3", "01-01-2027"],
        ["CH-1", "Semanal", "", "semana", "1", ""],
    ]
    response = post_import(client, team.owner, "plans", FORMATS[fmt](rows), dry_run=False)
    assert response.status_code == 200, response.text
    plans = {p.name: p for p in _rows(run, AssetMaintenancePlan)}
    assert plans["Trimestral"].interval_unit == "month" and plans["Trimestral"].interval_count == 3
    assert plans["Trimestral"].start_date.isoformat() == "2027-01-01"
    assert plans["Trimestral"].next_due_at is not None
    assert plans["Semanal"].interval_unit == "week"
    again = post_import(client, team.owner, "plans", FORMATS[fmt](rows), dry_run=False)
    assert {p[2] for p in problems(again)} == {"already_exists"}


def test_plans_rows_are_checked(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    rows = [
        ["Asset", "Name", "Trigger", "Interval unit", "Every", "Meter"],
        ["NOPE", "A", "date", "month", "1", ""],
    ]
    response = post_import(client, team.owner, "plans", FORMATS["csv_comma"](rows), language="en")
    assert problems(response) == [(2, "Asset", "asset_not_found")]
    assert (
        post_import(client, team.requester, "plans", FORMATS["csv_comma"](rows)).status_code == 403
    )


# --- templates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["locales", "areas", "assets", "products", "users", "plans"])
def test_templates_have_the_headers_in_the_language_and_no_formulas(
    client: TestClient, run: Runner, kind: str
) -> None:
    team = make_team(client, run)
    url = f"{API}/imports/{kind}/template"
    xlsx = client.get(url, params={"language": "es-CL"}, headers=team.owner.headers)
    assert xlsx.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    assert len(book.sheet_names) == 2
    data = book.get_sheet_by_index(0).to_python()
    notes = book.get_sheet_by_index(1).to_python()
    assert data[0][0] in ("Código", "Local", "Sku", "Correo", "Activo")
    assert len(notes) > len(data[0])
    assert b"<f>" not in _sheet_xml(xlsx.content)
    for cell in [str(c) for row in data + notes for c in row]:
        assert not FORMULA.match(cell), cell
    csv = client.get(url, params={"format": "csv", "language": "en"}, headers=team.owner.headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    header = csv.content.decode("utf-8-sig").splitlines()[0]
    assert header.split(",")[0] in ("Code", "Locale", "Sku", "Email", "Asset")
    # A template, filled in, imports as it is (the example row counts as a row).
    dry = post_import(client, team.owner, kind, xlsx.content, filename="t.xlsx")
    assert dry.status_code == 200
    assert not [p for p in problems(dry) if p[2] in ("unknown_column", "missing_column")]


#: A cell a spreadsheet could run: =, +, @, or - before anything but a plain number.
FORMULA = re.compile(r"^([=+@]|-(?!\d[\d.,]*$))")


def _sheet_xml(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(
            archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets")
        )
