"""The scan page's fault report as a form with an optional photo (the ticket's first attachment)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.operations.models import ServiceTicket, TicketAttachment
from tests.fixtures import files
from tests.fixtures.assets import create_asset
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import make_team

API = "/api/v1"
FORM = {
    "reporter_name": "Ana Torres",
    "reporter_contact": "+56 9 1234 5678",
    "description": "Sale humo del tablero.",
}


def report(client: TestClient, code: str, photo: tuple[str, bytes] | None, **form: str) -> Any:
    sent = {"photo": (photo[0], photo[1], "image/jpeg")} if photo else None
    return client.post(f"{API}/scan/{code}/photo-report", data={**FORM, **form}, files=sent)


def _rows(run: Runner) -> tuple[list[ServiceTicket], list[TicketAttachment]]:
    async def load(session: AsyncSession) -> tuple[list[Any], list[Any]]:
        tickets = list((await session.execute(select(ServiceTicket))).scalars())
        attachments = list((await session.execute(select(TicketAttachment))).scalars())
        return tickets, attachments

    result: tuple[list[ServiceTicket], list[TicketAttachment]] = run(load)
    return result


@pytest.fixture
def asset(client: TestClient, run: Runner) -> dict[str, Any]:
    team = make_team(client, run)
    return create_asset(client, team.owner, team.locale1, name="Tablero 3")


def test_photo_becomes_the_new_tickets_attachment(
    client: TestClient, run: Runner, settings: Settings, asset: dict[str, Any]
) -> None:
    response = report(client, asset["qr_code"], ("tablero.jpg", files.JPEG))
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"ticket_number_code", "message"}
    [ticket], [photo] = _rows(run)
    assert ticket.asset_id == uuid.UUID(asset["id"]) and ticket.source == "scan"
    assert (ticket.reporter_name, ticket.description) == ("Ana Torres", FORM["description"])
    assert photo.ticket_id == ticket.id
    assert (photo.kind, photo.content_type, photo.filename) == (
        "photo",
        "image/jpeg",
        "tablero.jpg",
    )
    assert photo.uploaded_by_id is None
    assert (settings.files_dir / photo.storage_key).read_bytes() == files.JPEG


def test_form_without_photo_reports_the_fault(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    response = report(client, asset["qr_code"], None)
    assert response.status_code == 201, response.text
    tickets, attachments = _rows(run)
    assert len(tickets) == 1 and attachments == []


@pytest.mark.parametrize(
    ("photo", "code"),
    [
        (("informe.pdf", files.PDF), "unsupported_file_type"),
        (("foto.jpg", files.ELF), "executable_refused"),
        (("foto.jpg", files.png()), "file_type_mismatch"),
    ],
)
def test_anything_but_a_photo_is_refused_and_nothing_is_raised(
    client: TestClient,
    run: Runner,
    settings: Settings,
    asset: dict[str, Any],
    photo: tuple[str, bytes],
    code: str,
) -> None:
    response = report(client, asset["qr_code"], photo)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == code
    assert _rows(run) == ([], [])
    assert not any(p.is_file() for p in settings.files_dir.rglob("*"))


def test_invalid_fields_are_validation_errors_in_the_body(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    response = report(client, asset["qr_code"], None, reporter_contact="not a contact")
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "reporter_contact"]]
    missing = client.post(
        f"{API}/scan/{asset['qr_code']}/photo-report", data={"reporter_name": "A"}
    )
    assert missing.status_code == 422
    assert _rows(run) == ([], [])


def test_unknown_code_is_404(client: TestClient, run: Runner) -> None:
    response = report(client, "no-such-code", ("a.jpg", files.JPEG))
    assert response.status_code == 404
    assert _rows(run) == ([], [])


@pytest.mark.parametrize("settings_overrides", [{"public_rate_limit": "2/minute"}])
def test_shares_the_rate_limit_of_the_json_report(
    client: TestClient, asset: dict[str, Any]
) -> None:
    body = {**FORM, "reporter_contact": "ana@example.com"}
    assert client.post(f"{API}/scan/{asset['qr_code']}", json=body).status_code == 201
    assert report(client, asset["qr_code"], None).status_code == 201
    limited = report(client, asset["qr_code"], ("a.jpg", files.JPEG))
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
