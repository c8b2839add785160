"""Importing assets: by code, in areas by path, under parents by code or name, with meters; all
or nothing; plan limits; rights; formats and languages."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset, AssetStatusChange
from kerops.audit.models import AuditLog
from kerops.core.enums import SubscriptionPlan
from kerops.imports import kinds
from tests.fixtures.assets import set_plan_limit
from tests.fixtures.factories import Runner, make_area, make_user
from tests.fixtures.tenancy import make_team
from tests.imports.helpers import FORMATS, count, post_import, problems, set_locale_code

HEADERS_ES = [
    "Local",
    "Código",
    "Nombre",
    "Área",
    "Activo padre",
    "Fecha de instalación",
    "Criticidad",
    "Medidor: horas",
]
HEADERS_EN = [
    "Locale",
    "Code",
    "Name",
    "Area",
    "Parent",
    "Install date",
    "Criticality",
    "Meter: horas",
]


def _team(client: TestClient, run: Runner) -> Any:
    team = make_team(client, run)
    set_locale_code(run, team.locale1, "L1")
    set_locale_code(run, team.locale2, "L2")
    floor = make_area(run, team.client_id, team.locale1, "Piso 1")
    make_area(run, team.client_id, team.locale1, "Sala de máquinas", parent_id=floor)
    return team


def _assets(run: Runner) -> dict[str, Any]:
    async def read(session: AsyncSession) -> dict[str, Any]:
        rows = (await session.execute(select(Asset))).scalars().all()
        return {a.code: a for a in rows}

    result: dict[str, Any] = run(read)
    return result


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("headers", [HEADERS_ES, HEADERS_EN], ids=["es", "en"])
def test_assets_import_from_every_format_and_language(
    client: TestClient, run: Runner, fmt: str, headers: list[str]
) -> None:
    team = _team(client, run)
    rows = [
        headers,
        ["L1", "CH-01", "Chiller 1", "Piso 1 / Sala de máquinas", "", "15-03-2024", "4", "1.250,5"],
        ["L1", "BO-01", "Bomba 1", "", "Chiller 1", "2024-03-16", "2", ""],
        ["L1", "VA-01", "Válvula", "", "BO-01", "", "", ""],
    ]
    data = FORMATS[fmt](rows)
    dry = post_import(client, team.owner, "assets", data)
    assert dry.status_code == 200, dry.text
    assert dry.json()["errors"] == []
    assert (dry.json()["rows"], dry.json()["created"]) == (3, 3)
    assert count(run, Asset) == 0
    real = post_import(client, team.owner, "assets", data, dry_run=False)
    assert real.status_code == 200, real.text
    assert real.json()["created"] == 3
    assets = _assets(run)
    chiller, pump, valve = assets["CH-01"], assets["BO-01"], assets["VA-01"]
    assert chiller.area_id is not None and chiller.install_date.isoformat() == "2024-03-15"
    assert chiller.meter_readings == {"horas": 1250.5}
    assert chiller.criticality == 4
    assert pump.parent_id == chiller.id and valve.parent_id == pump.id
    assert pump.install_date.isoformat() == "2024-03-16"
    assert count(run, AssetStatusChange) == 3
    assert count(run, AuditLog, AuditLog.table_name == "assets") == 3
    assert len(chiller.qr_code) >= 32
    # The sync stream carries them as any new asset.
    synced = client.get("/api/v1/sync", params={"limit": 200}, headers=team.owner.headers)
    assert synced.status_code == 200, synced.text
    assert {str(a.id) for a in assets.values()} <= {
        item["id"] for item in synced.json()["items"] if item["kind"] == "asset"
    }


def test_dry_run_lists_every_problem_by_row_and_column(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    rows = [
        HEADERS_ES,
        ["L1", "A-1", "Uno", "", "", "31-02-2024", "", ""],
        ["L9", "A-2", "Dos", "", "", "", "9", ""],
        ["L1", "A-1", "Tres", "Piso 9", "", "", "", "mucho"],
        ["L1", "A-4", "", "", "No existe", "", "", ""],
    ]
    data = FORMATS["csv_semicolon"](rows)
    response = post_import(client, team.owner, "assets", data)
    assert response.status_code == 200
    found = problems(response)
    assert (2, "Fecha de instalación", "invalid_date") in found
    assert (3, "Local", "locale_not_found") in found
    assert (4, "Medidor: horas", "not_a_number") in found
    assert (5, "Nombre", "required") in found
    assert response.json()["created"] == 0
    assert count(run, Asset) == 0
    real = post_import(client, team.owner, "assets", data, dry_run=False)
    assert real.status_code == 422
    assert real.json()["code"] == "import_invalid"
    assert problems(real) == found
    assert count(run, Asset) == 0


def test_one_bad_row_writes_nothing(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    rows = [HEADERS_ES[:3], ["L1", "A-1", "Uno"], ["L1", "A-2", "Dos"], ["L1", "A 3!", "Tres"]]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows), dry_run=False)
    assert response.status_code == 422
    assert problems(response) == [(4, "Código", "invalid_code")]
    assert count(run, Asset) == 0
    assert count(run, AuditLog, AuditLog.table_name == "assets") == 0


def test_a_code_stored_meanwhile_is_a_conflict_and_writes_nothing(
    client: TestClient, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = _team(client, run)
    checked = kinds._plan_limit

    async def stored_meanwhile(import_run: Any, *args: Any) -> None:
        # Another request stores A-2 after the file was checked, before its rows are written.
        await checked(import_run, *args)
        import_run.session.add(
            Asset(
                client_id=team.client_id,
                locale_id=team.locale1,
                name="Dos",
                code="A-2",
                qr_code="qr-meanwhile",
            )
        )
        await import_run.session.flush()

    monkeypatch.setattr(kinds, "_plan_limit", stored_meanwhile)
    rows = [HEADERS_ES[:3], ["L1", "A-1", "Uno"], ["L1", "A-2", "Dos"]]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows), dry_run=False)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "import_conflict"
    assert count(run, Asset) == 0
    assert count(run, AuditLog, AuditLog.table_name == "assets") == 0


def test_reimport_is_refused_row_by_row_and_duplicates_nothing(
    client: TestClient, run: Runner
) -> None:
    team = _team(client, run)
    data = FORMATS["xlsx"]([HEADERS_EN[:3], ["L1", "A-1", "One"], ["L2", "A-2", "Two"]])
    assert post_import(client, team.owner, "assets", data, dry_run=False).status_code == 200
    again = post_import(client, team.owner, "assets", data, dry_run=False)
    assert again.status_code == 422
    assert problems(again) == [(2, "Code", "already_exists"), (3, "Code", "already_exists")]
    assert count(run, Asset) == 2


def test_plan_limit_refuses_the_import_and_writes_nothing(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    set_plan_limit(run, SubscriptionPlan.enterprise, max_assets=2)
    data = FORMATS["csv_comma"]([HEADERS_ES[:3], *[["L1", f"A-{i}", f"N{i}"] for i in range(3)]])
    dry = post_import(client, team.owner, "assets", data)
    assert dry.status_code == 200
    assert [p[2] for p in problems(dry)] == ["plan_limit_exceeded"]
    real = post_import(client, team.owner, "assets", data, dry_run=False)
    assert real.status_code == 403
    assert real.json()["code"] == "plan_limit_exceeded"
    assert count(run, Asset) == 0


def test_another_clients_locale_is_a_row_error_not_a_leak(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    other = make_team(client, run)
    set_locale_code(run, other.locale1, "OTRO")
    data = FORMATS["csv_comma"]([HEADERS_ES[:3], ["OTRO", "A-1", "Uno"], ["NADA", "A-2", "Dos"]])
    response = post_import(client, team.owner, "assets", data, dry_run=False)
    assert response.status_code == 422
    assert problems(response) == [
        (2, "Local", "locale_not_found"),
        (3, "Local", "locale_not_found"),
    ]
    assert count(run, Asset) == 0


def test_a_manager_imports_into_own_locale_only(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    data = FORMATS["csv_comma"]([HEADERS_ES[:3], ["L1", "A-1", "Uno"], ["L2", "A-2", "Dos"]])
    response = post_import(client, team.manager, "assets", data, dry_run=False)
    assert problems(response) == [(3, "Local", "locale_not_found")]
    data = FORMATS["csv_comma"]([HEADERS_ES[:3], ["L1", "A-1", "Uno"]])
    assert post_import(client, team.manager, "assets", data, dry_run=False).status_code == 200
    assert count(run, Asset) == 1


def test_a_requester_may_not_import(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    data = FORMATS["csv_comma"]([HEADERS_ES[:3], ["L1", "A-1", "Uno"]])
    for account in (team.requester, team.viewer):
        response = post_import(client, account, "assets", data, dry_run=False)
        assert response.status_code == 403
        assert response.json()["code"] == "import_forbidden"
    assert count(run, Asset) == 0


def test_formula_looking_cells_are_stored_as_text(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    evil = "=cmd|' /C calc'!A0"
    data = FORMATS["csv_comma"]([[*HEADERS_ES[:3], "Notas"], ["L1", "A-1", "+Bomba", evil]])
    assert post_import(client, team.owner, "assets", data, dry_run=False).status_code == 200
    asset = _assets(run)["A-1"]
    assert (asset.name, asset.notes) == ("+Bomba", evil)


def test_parent_cycle_in_the_file_is_an_error(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    rows = [HEADERS_ES[:5], ["L1", "A", "A", "", "B"], ["L1", "B", "B", "", "A"]]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows))
    assert {p[2] for p in problems(response)} == {"asset_cycle"}


def test_parent_in_another_locale_is_not_found(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    rows = [HEADERS_ES[:5], ["L1", "A", "A", "", ""], ["L2", "B", "B", "", "A"]]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows))
    assert problems(response) == [(3, "Activo padre", "parent_not_found")]


def test_stored_parent_by_code(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    first = FORMATS["csv_comma"]([HEADERS_ES[:3], ["L1", "P-1", "Padre"]])
    post_import(client, team.owner, "assets", first, dry_run=False)
    second = FORMATS["csv_comma"]([HEADERS_ES[:5], ["L1", "H-1", "Hijo", "", "P-1"]])
    assert post_import(client, team.owner, "assets", second, dry_run=False).status_code == 200
    assets = _assets(run)
    assert assets["H-1"].parent_id == assets["P-1"].id


def test_unknown_and_missing_columns_are_reported_on_the_header_row(
    client: TestClient, run: Runner
) -> None:
    team = _team(client, run)
    data = FORMATS["csv_comma"]([["Local", "Nombre", "Color"], ["L1", "X", "rojo"]])
    response = post_import(client, team.owner, "assets", data)
    assert sorted(problems(response)) == [
        (1, "Color", "unknown_column"),
        (1, "Código", "missing_column"),
    ]


def test_a_file_neither_csv_nor_xlsx_is_refused(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = post_import(client, team.owner, "assets", png, filename="datos.csv")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_file_type"
    from tests.fixtures.files import office

    response = post_import(client, team.owner, "assets", office("docx"), filename="x.xlsx")
    assert response.status_code == 415


def test_staff_and_technicians_may_not_import(client: TestClient, run: Runner) -> None:
    from kerops.core.enums import UserRole

    team = _team(client, run)
    tech = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    data = FORMATS["csv_comma"]([HEADERS_ES[:3], ["L1", "A-1", "Uno"]])
    assert post_import(client, tech, "assets", data).status_code == 403
