"""Custom fields in the imports of assets and locales: one column per field (``campo:<code>``,
``field:<code>`` or an export's ``Label (field:<code>)``), read once per import, every problem
at its row and column, stored as the API stores them; and in the templates."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.tenancy.models import Locale
from tests.customfields.helpers import define, define_all, post_asset
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import make_team
from tests.imports.helpers import API, FORMATS, count, post_import, problems, set_locale_code

HEADERS = [
    "Local",
    "Código",
    "Nombre",
    "campo:note",
    "field:capacity",
    "Since (field:since)",
    "campo:outdoor",
    "Color (field:color)",
]
EXPECTED = {
    "CH-01": {
        "note": "=ojo",
        "capacity": 12.5,
        "since": "2026-03-02",
        "outdoor": True,
        "color": "rojo",
    },
    "CH-02": {"capacity": 1234, "since": "2025-12-31", "outdoor": False, "color": "azul"},
}


def _team(client: TestClient, run: Runner) -> Any:
    team = make_team(client, run)
    set_locale_code(run, team.locale1, "L1")
    define_all(client, team.owner)
    return team


def _ids(run: Runner, model: Any) -> dict[str, uuid.UUID]:
    async def read(session: AsyncSession) -> dict[str, uuid.UUID]:
        return {c: i for i, c in (await session.execute(select(model.id, model.code))).all()}

    result: dict[str, uuid.UUID] = run(read)
    return result


def _read(client: TestClient, account: Any, path: str) -> dict[str, Any]:
    response = client.get(f"{API}/{path}", headers=account.headers)
    assert response.status_code == 200, response.text
    values: dict[str, Any] = response.json()["custom_fields"]
    return values


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_type_is_imported_and_stored_as_the_api_stores_it(
    client: TestClient, run: Runner, fmt: str
) -> None:
    team = _team(client, run)
    xlsx = fmt == "xlsx"
    rows = [
        HEADERS,
        ["L1", "CH-01", "Chiller", "=ojo", 12.5 if xlsx else "12,5", "2026-03-02", "sí", "Rojo"],
        ["L1", "CH-02", "Bomba", "", 1234 if xlsx else "1.234", "31-12-2025", "no", "AZUL"],
        ["L1", "CH-03", "Válvula", "", "", "", "", ""],
    ]
    data = FORMATS[fmt](rows)
    dry = post_import(client, team.owner, "assets", data)
    assert dry.status_code == 200, dry.text
    assert problems(dry) == []
    assert dry.json()["created"] == 3
    assert count(run, Asset) == 0  # a dry run writes nothing
    real = post_import(client, team.owner, "assets", data, dry_run=False)
    assert real.status_code == 200, real.text
    ids = _ids(run, Asset)
    for code, expected in [*EXPECTED.items(), ("CH-03", {})]:
        assert _read(client, team.owner, f"assets/{ids[code]}") == expected
    # The same values through the API are stored the same way.
    made = post_asset(client, team.owner, team.locale1, custom_fields=EXPECTED["CH-02"])
    assert made.status_code == 201, made.text
    assert made.json()["custom_fields"] == EXPECTED["CH-02"]


@pytest.mark.parametrize("fmt", ["csv_semicolon", "xlsx"])
def test_locales_take_their_own_fields(client: TestClient, run: Runner, fmt: str) -> None:
    team = make_team(client, run)
    define(client, team.owner, "m2", "number", entity="locale", required=True)
    define(client, team.owner, "opened", "date", entity="locale")
    rows = [
        ["Código", "Nombre", "Campo:m2", "Apertura (campo:opened)"],
        ["SCL-9", "Santiago 9", "250,5", "01-02-2020"],
    ]
    data = FORMATS[fmt](rows)
    real = post_import(client, team.owner, "locales", data, dry_run=False)
    assert real.status_code == 200, real.text
    locale_id = _ids(run, Locale)["SCL-9"]
    assert _read(client, team.owner, f"locales/{locale_id}") == {
        "m2": 250.5,
        "opened": "2020-02-01",
    }


def test_wrong_values_are_problems_at_their_row_and_column(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    define(client, team.owner, "plate", required=True, position=9)
    headers = [*HEADERS, "campo:plate"]
    rows = [
        headers,
        ["L1", "A-1", "Uno", "x" * 2001, "mucho", "2026-13-45", "quizás", "verde", "P1"],
        ["L1", "A-2", "Dos", "", "", "", "", "", ""],
        ["L1", "A-3", "Tres", "ok", "3", "2026-01-01", "x", "rojo", "P3"],
    ]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows))
    assert response.status_code == 200, response.text
    assert sorted(problems(response)) == [
        (2, "Color (field:color)", "invalid_custom_field"),
        (2, "Since (field:since)", "invalid_custom_field"),
        (2, "campo:note", "invalid_custom_field"),
        (2, "campo:outdoor", "invalid_custom_field"),
        (2, "field:capacity", "invalid_custom_field"),
        (3, "campo:plate", "custom_field_required"),
    ]
    # The field's own message, in the request's language.
    errors = {(p["row"], p["column"]): p["message"] for p in response.json()["errors"]}
    assert "rojo, azul" in errors[(2, "Color (field:color)")]
    english = post_import(
        client, team.owner, "assets", FORMATS["csv_comma"](rows), language="en"
    ).json()["errors"]
    spanish_messages = {p["message"] for p in response.json()["errors"]}
    assert "This field is required." in {p["message"] for p in english}
    assert "This field is required." not in spanish_messages
    real = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows), dry_run=False)
    assert real.status_code == 422
    assert real.json()["code"] == "import_invalid"
    assert count(run, Asset) == 0


def test_a_required_field_without_its_column_is_a_missing_column(
    client: TestClient, run: Runner
) -> None:
    team = _team(client, run)
    define(client, team.owner, "plate", required=True)
    rows = [["Local", "Código", "Nombre"], ["L1", "A-1", "Uno"]]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows))
    assert problems(response) == [(1, "campo:plate", "missing_column")]
    english = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows), language="en")
    assert problems(english) == [(1, "field:plate", "missing_column")]


def test_unknown_archived_and_other_clients_codes_are_one_problem_of_the_header(
    client: TestClient, run: Runner
) -> None:
    team = _team(client, run)
    other = make_team(client, run)
    define(client, other.owner, "secret")
    old = define(client, team.owner, "old")
    patched = client.patch(
        f"{API}/custom-fields/{old['id']}", json={"is_active": False}, headers=team.owner.headers
    )
    assert patched.status_code == 200, patched.text
    rows = [
        ["Locale", "Code", "Name", "campo:secret", "field:nope", "Old (field:old)", "campo:note"],
        ["L1", "A-1", "Uno", "x", "y", "z", "ok"],
        ["L1", "A-2", "Dos", "x", "y", "", "ok"],
    ]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows))
    assert sorted(problems(response)) == [
        (1, "Old (field:old)", "custom_field_archived"),
        (1, "campo:secret", "unknown_custom_field"),
        (1, "field:nope", "unknown_custom_field"),
    ]
    # The other client's own import knows its field.
    set_locale_code(run, other.locale1, "O1")
    mine = [["Local", "Código", "Nombre", "campo:secret"], ["O1", "S-1", "S", "x"]]
    assert problems(post_import(client, other.owner, "assets", FORMATS["csv_comma"](mine))) == []


def test_the_same_field_twice_is_a_duplicate_column(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    rows = [["Local", "Código", "Nombre", "campo:color", "Color (field:color)"], ["L1", "A", "A"]]
    response = post_import(client, team.owner, "assets", FORMATS["csv_comma"](rows))
    assert problems(response) == [(1, "Color (field:color)", "duplicate_column")]


def test_an_exports_field_columns_are_imported_again(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    values = {
        "note": "Placa: 220 V",
        "capacity": 1234.5,
        "since": "2026-03-02",
        "outdoor": True,
        "color": "azul",
    }
    made = post_asset(client, team.owner, team.locale1, name="Caldera", custom_fields=values)
    assert made.status_code == 201, made.text
    for fmt in ("csv", "xlsx"):
        exported = client.get(
            f"{API}/exports/assets", params={"format": fmt}, headers=team.owner.headers
        )
        assert exported.status_code == 200, exported.text
        table = _csv_rows(exported.content) if fmt == "csv" else _xlsx_rows(exported.content)
        fields = [i for i, h in enumerate(table[0]) if "(field:" in h]
        assert len(fields) == 5
        edited = [
            ["Local", "Código", "Nombre", *[table[0][i] for i in fields]],
            ["L1", f"COPY-{fmt}", "Copia", *[table[1][i] for i in fields]],
        ]
        data = FORMATS["csv_comma" if fmt == "csv" else "xlsx"](edited)
        real = post_import(client, team.owner, "assets", data, dry_run=False)
        assert real.status_code == 200, real.text
        copy = _ids(run, Asset)[f"COPY-{fmt}"]
        assert _read(client, team.owner, f"assets/{copy}") == values


def _csv_rows(content: bytes) -> list[list[Any]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    rows: list[list[Any]] = book.get_sheet_by_index(0).to_python()
    return rows


def test_templates_list_the_clients_active_fields(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    define(client, team.owner, "plate", required=True, position=9)
    old = define(client, team.owner, "old", position=10)
    client.patch(
        f"{API}/custom-fields/{old['id']}", json={"is_active": False}, headers=team.owner.headers
    )
    define(client, team.owner, "m2", "number", entity="locale")
    url = f"{API}/imports/assets/template"
    spanish = client.get(
        url, params={"format": "csv", "language": "es-CL"}, headers=team.owner.headers
    )
    assert spanish.status_code == 200, spanish.text
    header = spanish.content.decode("utf-8-sig").splitlines()[0].split(";")
    assert header[-6:] == [
        "campo:note",
        "campo:capacity",
        "campo:since",
        "campo:outdoor",
        "campo:color",
        "campo:plate",
    ]
    english = client.get(
        url, params={"format": "csv", "language": "en"}, headers=team.owner.headers
    )
    assert english.content.decode("utf-8-sig").splitlines()[0].split(",")[-1] == "field:plate"
    locales = client.get(
        f"{API}/imports/locales/template",
        params={"format": "csv", "language": "es-CL"},
        headers=team.owner.headers,
    )
    assert locales.content.decode("utf-8-sig").splitlines()[0].split(";")[-1] == "campo:m2"
    workbook = client.get(url, params={"language": "en"}, headers=team.owner.headers)
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as archive:
        strings = archive.read("xl/sharedStrings.xml").decode()
    assert "Allowed values: rojo, azul." in strings
    assert "field:old" not in strings
    # A template downloaded by another client shows none of these fields.
    other = make_team(client, run)
    theirs = client.get(
        url, params={"format": "csv", "language": "es-CL"}, headers=other.owner.headers
    )
    assert "campo:" not in theirs.content.decode("utf-8-sig")
