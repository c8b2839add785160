"""Exports of the registered lists: ``GET {list}/export`` as CSV, XLSX and PDF."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.operations.models import ServiceTicket
from kerops.reports.lists import LISTS
from tests.fixtures.assets import make_asset, make_ticket
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"
PATHS = {kind: f"{API}{export.path}/export" for kind, export in LISTS.items()}


def _rows(response: Any, delimiter: str) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _tickets(client: TestClient, run: Runner) -> tuple[Team, list[uuid.UUID]]:
    team = make_team(client, run)
    assert team.owner.client_id is not None
    cid = team.owner.client_id
    ids = [make_ticket(run, cid, team.locale1, None) for _ in range(3)]
    ids.append(make_ticket(run, cid, team.locale2, None))

    async def costs(session: AsyncSession) -> None:
        await session.execute(
            update(ServiceTicket)
            .where(ServiceTicket.id == ids[0])
            .values(labour_cost_minor=1234567, title="=cmd|' /C calc'!A0")
        )

    run(costs)
    return team, ids


@pytest.mark.parametrize("kind", sorted(LISTS))
@pytest.mark.parametrize("file_format", ["csv", "xlsx", "pdf"])
def test_every_list_exports_in_every_format(
    client: TestClient, run: Runner, kind: str, file_format: str
) -> None:
    team, _ = _tickets(client, run)
    response = client.get(PATHS[kind], params={"format": file_format}, headers=team.owner.headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    if file_format == "xlsx":
        assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None
    elif file_format == "pdf":
        assert response.content.startswith(b"%PDF")
    else:
        assert response.content.startswith("\ufeff".encode())


def test_tickets_csv_in_es_cl_formats_money_dates_and_uses_semicolons(
    client: TestClient, run: Runner
) -> None:
    team, _ = _tickets(client, run)
    response = client.get(
        PATHS["tickets"], headers={**team.owner.headers, "Accept-Language": "es-CL"}
    )
    rows = _rows(response, ";")
    header = rows[0]
    assert header[0] == "Ticket"
    cost = header.index("Costo de mano de obra")
    assert "$ 1.234.567" in [row[cost] for row in rows[1:]]
    created = [row[header.index("Creado")] for row in rows[1:]]
    assert all(len(value) == 16 and value[2] == "-" and value[5] == "-" for value in created)
    titles = [row[header.index("Título")] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in titles  # formula guarded


def test_tickets_csv_in_english_uses_commas_and_english_money(
    client: TestClient, run: Runner
) -> None:
    team, _ = _tickets(client, run)
    rows = _rows(
        client.get(PATHS["tickets"], params={"language": "en"}, headers=team.owner.headers), ","
    )
    cost = rows[0].index("Labour cost")
    assert "CLP 1,234,567" in [row[cost] for row in rows[1:]]


def test_an_export_holds_the_lists_filters_and_reach(client: TestClient, run: Runner) -> None:
    team, ids = _tickets(client, run)
    other = make_team(client, run)
    assert other.owner.client_id is not None
    make_ticket(run, other.owner.client_id, other.locale1, None)
    owner_rows = _rows(
        client.get(PATHS["tickets"], params={"language": "en"}, headers=team.owner.headers), ","
    )
    assert len(owner_rows) == 1 + 4
    filtered = _rows(
        client.get(
            PATHS["tickets"],
            params={"language": "en", "locale_id": str(team.locale2)},
            headers=team.owner.headers,
        ),
        ",",
    )
    assert [row[-1] for row in filtered[1:]] == [str(ids[3])]
    # The manager of locale 1 reads its tickets only, as their list does.
    manager_rows = _rows(
        client.get(PATHS["tickets"], params={"language": "en"}, headers=team.manager.headers), ","
    )
    listed = client.get(f"{API}/tickets", headers=team.manager.headers).json()["items"]
    assert sorted(row[-1] for row in manager_rows[1:]) == sorted(t["id"] for t in listed)
    assert len(manager_rows) == 1 + 3


def test_an_export_walks_every_page_of_its_list(
    client: TestClient, run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kerops.reports import service

    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    team, ids = _tickets(client, run)
    rows = _rows(
        client.get(PATHS["tickets"], params={"language": "en"}, headers=team.owner.headers), ","
    )
    assert sorted(row[-1] for row in rows[1:]) == sorted(map(str, ids))


def test_more_rows_than_the_direct_limit_ask_for_a_report(client: TestClient, run: Runner) -> None:
    team, _ = _tickets(client, run)
    client.app.state.kerops.settings.report_direct_max_rows = 3  # type: ignore[attr-defined]
    try:
        response = client.get(PATHS["tickets"], headers=team.owner.headers)
    finally:
        client.app.state.kerops.settings.report_direct_max_rows = 5000  # type: ignore[attr-defined]
    assert response.status_code == 409
    assert response.json()["code"] == "export_use_report"


def test_an_export_is_audited_with_its_filters(client: TestClient, run: Runner) -> None:
    team, _ = _tickets(client, run)
    response = client.get(
        PATHS["tickets"],
        params={"format": "xlsx", "locale_id": str(team.locale1)},
        headers=team.owner.headers,
    )
    assert response.status_code == 200

    async def audited(session: AsyncSession) -> list[AuditLog]:
        rows = await session.execute(select(AuditLog).where(AuditLog.action == "export"))
        return list(rows.scalars())

    [row] = run(audited)
    assert row.actor_user_id == team.owner.id
    assert row.changes["kind"] == "tickets"
    assert row.changes["format"] == "xlsx"
    assert row.changes["filters"] == {"locale_id": str(team.locale1)}
    assert row.changes["rows"] == 3


def test_bad_filters_and_formats_are_422(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    for params in ({"format": "doc"}, {"status": "nope"}, {"created_from": "yesterday"}):
        response = client.get(PATHS["tickets"], params=params, headers=team.owner.headers)
        assert response.status_code == 422, params
    assert client.get(PATHS["audit_logs"], headers=team.manager.headers).status_code == 403


def test_assets_xlsx_keeps_numbers_and_dates(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    assert team.owner.client_id is not None
    make_asset(run, team.owner.client_id, team.locale1)
    response = client.get(
        PATHS["assets"], params={"format": "xlsx", "language": "es-CL"}, headers=team.owner.headers
    )
    book = zipfile.ZipFile(io.BytesIO(response.content))
    styles = book.read("xl/styles.xml").decode()
    assert "dd-mm-yyyy hh:mm" in styles


def test_a_pdf_has_its_title_filters_and_page_numbers(client: TestClient, run: Runner) -> None:
    team, _ = _tickets(client, run)
    response = client.get(
        PATHS["tickets"],
        params={"format": "pdf", "language": "es-CL", "locale_id": str(team.locale1)},
        headers=team.owner.headers,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    body = response.content.replace(b") Tj (", b"")  # the page count is written on its own
    assert b"(Tickets)" in body
    assert f"locale_id: {team.locale1}".encode() in body
    assert "Página 1 de 1".encode("latin-1") in body
