"""Exports of assets, tickets and locales as CSV and XLSX."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.core.i18n import reset_language, set_language
from kerops.customfields.models import FieldEntity
from kerops.exports import service as exports
from tests.customfields.helpers import API, define, define_all, post_asset
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import Team, create_locale, make_team

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _column(rows: list[list[str]], header: str) -> list[str]:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


def _team_with_assets(client: TestClient, run: Runner) -> Team:
    team = make_team(client, run)
    define_all(client, team.owner)
    post_asset(
        client,
        team.owner,
        team.locale1,
        name="Caldera",
        custom_fields={
            "note": '=HYPERLINK("x")',
            "capacity": 12.5,
            "since": "2026-03-02",
            "outdoor": True,
            "color": "rojo",
        },
    )
    post_asset(client, team.owner, team.locale1, name="+Bomba", custom_fields={"capacity": 3})
    post_asset(client, team.owner, team.locale2, name="Elsewhere")
    return team


def test_assets_csv_has_a_column_per_active_field_and_only_readable_rows(
    client: TestClient, run: Runner
) -> None:
    team = _team_with_assets(client, run)
    other = make_team(client, run)
    post_asset(client, other.owner, other.locale1, name="Ajeno")
    archived = define(client, team.owner, "old")
    client.patch(
        f"{API}/custom-fields/{archived['id']}",
        json={"is_active": False},
        headers=team.owner.headers,
    )
    # The manager of locale 1 reads its assets only.
    rows = _csv(client.get(f"{API}/exports/assets", headers=team.manager.headers))
    headers = rows[0]
    assert headers[-5:] == [
        "Note (field:note)",
        "Capacity (field:capacity)",
        "Since (field:since)",
        "Outdoor (field:outdoor)",
        "Color (field:color)",
    ]
    assert not any("field:old" in header for header in headers)
    names = rows[0].index(headers[1])
    assert sorted(row[names] for row in rows[1:]) == ["'+Bomba", "Caldera"]
    caldera = next(row for row in rows[1:] if row[names] == "Caldera")
    assert caldera[-5:] == ['\'=HYPERLINK("x")', "12.5", "2026-03-02", caldera[-2], "Rojo"]
    assert caldera[-2] in {"Sí", "Yes"}
    owner_rows = _csv(client.get(f"{API}/exports/assets", headers=team.owner.headers))
    assert len(owner_rows) == 4  # both locales, not the other client's


def test_headers_are_in_the_readers_language() -> None:
    token = set_language("en")
    try:
        english = [exports.gettext(c.header) for c in exports.COLUMNS[FieldEntity.asset]]
    finally:
        reset_language(token)
    token = set_language("es-CL")
    try:
        spanish = [exports.gettext(c.header) for c in exports.COLUMNS[FieldEntity.asset]]
    finally:
        reset_language(token)
    assert english[:3] == ["Id", "Name", "Category"]
    assert spanish[:3] == ["Id", "Nombre", "Categoría"]


def test_assets_export_takes_the_lists_filters(client: TestClient, run: Runner) -> None:
    team = _team_with_assets(client, run)
    rows = _csv(
        client.get(
            f"{API}/exports/assets",
            params={"field": "capacity:>=10", "locale_id": str(team.locale1)},
            headers=team.owner.headers,
        )
    )
    assert len(rows) == 2 and "Caldera" in rows[1]
    bad = client.get(
        f"{API}/exports/assets", params={"field": "nope:1"}, headers=team.owner.headers
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["type"] == "unknown_custom_field"
    unknown = client.get(
        f"{API}/exports/assets", params={"format": "pdf"}, headers=team.owner.headers
    )
    assert unknown.status_code == 422


def _sheet_xml(content: bytes) -> tuple[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        shared = book.read("xl/sharedStrings.xml").decode()
    strings = [
        re.sub(r"<[^>]+>", "", match) for match in re.findall(r"<si>(.*?)</si>", shared, flags=re.S)
    ]
    return sheet, [s.replace("&amp;", "&").replace("&quot;", '"') for s in strings]


def test_assets_xlsx_holds_typed_cells_and_no_formula(client: TestClient, run: Runner) -> None:
    team = _team_with_assets(client, run)
    response = client.get(
        f"{API}/exports/assets",
        params={"format": "xlsx", "locale_id": str(team.locale1)},
        headers=team.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert response.content[:2] == b"PK"
    sheet, strings = _sheet_xml(response.content)
    assert "<f>" not in sheet  # no formula anywhere
    assert "Color (field:color)" in strings and "Capacity (field:capacity)" in strings
    assert '\'=HYPERLINK("x")' in strings and "'+Bomba" in strings
    assert "Rojo" in strings
    assert "<v>12.5</v>" in sheet  # a number cell
    assert "Elsewhere" not in strings  # filtered out: another locale


def test_tickets_and_locales_export(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    define(client, team.owner, "origin", "choice", entity="ticket", choices=["Cliente", "Ronda"])
    define(client, team.owner, "zona", entity="locale")
    create_ticket(
        client, team.owner, team.locale1, title="-Fuga", custom_fields={"origin": "ronda"}
    )
    create_ticket(client, team.owner, team.locale1, title="Luz")
    create_locale(client, team.owner, name="@Sucursal", custom_fields={"zona": "Norte"})
    rows = _csv(
        client.get(
            f"{API}/exports/tickets", params={"field": "origin:ronda"}, headers=team.owner.headers
        )
    )
    assert len(rows) == 2
    assert rows[0][-1] == "Origin (field:origin)" and rows[1][-1] == "Ronda"
    assert "'-Fuga" in rows[1] and re.fullmatch(r"T-\d{6}", rows[1][0])
    xlsx = client.get(
        f"{API}/exports/tickets", params={"format": "xlsx"}, headers=team.owner.headers
    )
    _, strings = _sheet_xml(xlsx.content)
    assert {"'-Fuga", "Luz"} <= set(strings)
    locales = _csv(client.get(f"{API}/exports/locales", headers=team.owner.headers))
    assert locales[0][-1] == "Zona (field:zona)"
    sucursal = next(row for row in locales[1:] if "'@Sucursal" in row)
    assert sucursal[-1] == "Norte"
    assert len(locales) == 4  # the team's two locales and the new one


def test_a_requester_exports_only_what_they_read(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    mine = create_ticket(client, team.requester, team.locale1, title="Mía")
    create_ticket(client, team.owner, team.locale2, title="Ajena")
    rows = _csv(client.get(f"{API}/exports/tickets", headers=team.requester.headers))
    titles = _column(rows, rows[0][2])
    assert "Ajena" not in titles and mine["title"] in titles


@pytest.mark.parametrize("settings_overrides", [{"export_max_rows": 2}])
def test_an_export_past_its_cap_is_refused(
    client: TestClient, run: Runner, settings_overrides: dict[str, Any]
) -> None:
    team = make_team(client, run)
    for name in ("a", "b", "c"):
        post_asset(client, team.owner, team.locale1, name=name)
    response = client.get(f"{API}/exports/assets", headers=team.owner.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "export_too_large"
    assert response.json()["maximum"] == 2
    narrowed = client.get(f"{API}/exports/assets", params={"q": "a"}, headers=team.owner.headers)
    assert narrowed.status_code == 200
