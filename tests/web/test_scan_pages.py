"""The scan page a QR code opens on a phone, its fault report (CSRF-protected, with a photo) and
the reporter's private follow-up page, over HTTP."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.qr import scan_url
from kerops.config import Settings
from kerops.core.security import hash_token
from kerops.operations.models import (
    ScanFollowLink,
    ServiceTicket,
    TicketAttachment,
    TicketHistory,
)
from kerops.tenancy.models import LocalArea
from tests.fixtures import files
from tests.fixtures.assets import create_asset
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"
FORM = {
    "description": "Sale humo del tablero.",
    "reporter_name": "Ana Torres",
    "reporter_contact": "+56 9 1234 5678",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FOLLOW = re.compile(r'href="http://testserver(/follow-up/[A-Za-z0-9_\-]+)"')


@pytest.fixture(autouse=True)
def _no_language_asked(client: TestClient) -> None:
    """A phone's browser is what asks for a language here: the shared client's English is
    dropped, so a request without its own ``Accept-Language`` asks for none."""
    client.headers.pop("accept-language", None)


@pytest.fixture
def team(client: TestClient, run: Runner) -> Team:
    return make_team(client, run)


@pytest.fixture
def asset(client: TestClient, run: Runner, team: Team) -> dict[str, Any]:
    area = _add_area(run, team, "Sala eléctrica")
    return create_asset(client, team.owner, team.locale1, name="Tablero 3", area_id=str(area))


def _add_area(run: Runner, team: Team, name: str) -> uuid.UUID:
    area_id = uuid.uuid4()

    async def add(session: AsyncSession) -> None:
        assert team.owner.client_id is not None
        session.add(
            LocalArea(id=area_id, client_id=team.owner.client_id, locale_id=team.locale1, name=name)
        )

    run(add)
    return area_id


def _page_path(code: str) -> str:
    return scan_url("", code)


def _open(client: TestClient, code: str, **headers: str) -> tuple[Any, str]:
    response = client.get(_page_path(code), headers=headers)
    assert response.status_code == 200, response.text
    match = CSRF.search(response.text)
    assert match is not None
    return response, match.group(1)


def _send(
    client: TestClient,
    code: str,
    token: str | None,
    photo: tuple[str, bytes, str] | None = None,
    **form: str,
) -> Any:
    data = {**FORM, **form}
    if token is not None:
        data["csrf_token"] = token
    sent = {"photo": photo} if photo else {"photo": ("", b"", "application/octet-stream")}
    return client.post(_page_path(code), data=data, files=sent)


def _tickets(run: Runner) -> list[ServiceTicket]:
    async def load(session: AsyncSession) -> list[ServiceTicket]:
        return list((await session.execute(select(ServiceTicket))).scalars())

    result: list[ServiceTicket] = run(load)
    return result


def _count(run: Runner, model: Any) -> int:
    async def load(session: AsyncSession) -> int:
        return len(list((await session.execute(select(model))).scalars()))

    result: int = run(load)
    return result


def test_the_scan_page_shows_the_asset_in_spanish_by_default(
    client: TestClient, run: Runner, team: Team, asset: dict[str, Any]
) -> None:
    create_ticket(client, team.owner, team.locale1, asset_id=asset["id"])
    response, _ = _open(client, asset["qr_code"])
    html = response.text
    assert response.headers["content-language"] == "es-CL"
    assert '<html lang="es-CL">' in html
    assert "Tablero 3" in html and "Local Uno" in html and "Sala eléctrica" in html
    assert asset["qr_code"] in html
    assert re.search(r'<dd class="count">1</dd>', html)
    assert "Reportar una falla" in html and "Enviar reporte" in html
    assert 'accept="image/*" capture="environment"' in html
    for field in ("description", "reporter_name", "reporter_contact", "photo"):
        assert f'<label for="{field}">' in html, field
        assert f'id="{field}"' in html, field
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "<script" not in html and "style=" not in html
    csp = response.headers["content-security-policy"]
    assert "form-action 'self'" in csp and "default-src 'none'" in csp
    assert "script-src" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("accept", "query", "language", "text"),
    [
        ("en-US,en;q=0.9", "", "en", "Report a fault"),
        ("es-CL", "?lang=en", "en", "Report a fault"),
        ("en", "?lang=es-CL", "es-CL", "Reportar una falla"),
        ("en", "?lang=fr", "en", "Report a fault"),
    ],
)
def test_the_scan_page_speaks_the_browsers_language_or_the_switchs(
    client: TestClient, asset: dict[str, Any], accept: str, query: str, language: str, text: str
) -> None:
    response = client.get(_page_path(asset["qr_code"]) + query, headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert response.headers["content-language"] == language
    assert f'<html lang="{language}">' in response.text and text in response.text
    other = "es-CL" if language == "en" else "en"
    assert f'href="{_page_path(asset["qr_code"])}?lang={other}"' in response.text


def test_a_report_with_a_photo_raises_a_ticket_and_answers_its_follow_up_link(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"])
    response = _send(client, asset["qr_code"], token, ("falla.png", files.png(4, 4), "image/png"))
    assert response.status_code == 200, response.text  # the follow-up page, after a 303
    [ticket] = _tickets(run)
    assert ticket.asset_id == uuid.UUID(asset["id"]) and ticket.source == "scan"
    assert ticket.title == "Falla reportada en Tablero 3"
    assert (ticket.reporter_name, ticket.reporter_contact) == ("Ana Torres", "+56 9 1234 5678")
    assert f"T-{ticket.number:06d}" in response.text
    assert "Reporte recibido" in response.text
    assert _count(run, TicketAttachment) == 1
    match = FOLLOW.search(response.text)
    assert match is not None
    secret = match.group(1).rsplit("/", 1)[1]

    async def links(session: AsyncSession) -> list[ScanFollowLink]:
        return list((await session.execute(select(ScanFollowLink))).scalars())

    [link] = run(links)
    assert link.ticket_id == ticket.id and link.language == "es-CL"
    assert link.token_hash == hash_token(secret) and secret not in link.token_hash
    follow = client.get(match.group(1))
    assert follow.status_code == 200 and f"T-{ticket.number:06d}" in follow.text
    assert "Reporte recibido" not in follow.text  # the thanks only right after sending


def test_a_report_is_answered_by_a_redirect_to_its_follow_up_page(
    client: TestClient, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"], **{"Accept-Language": "en"})
    data = {**FORM, "csrf_token": token, "lang": "en"}
    response = client.post(_page_path(asset["qr_code"]), data=data, follow_redirects=False)
    assert response.status_code == 303
    assert re.fullmatch(
        r"/follow-up/[A-Za-z0-9_\-]{43}\?lang=en&sent=1", response.headers["location"]
    )


def test_a_report_from_the_english_page_is_titled_in_english(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"], **{"Accept-Language": "en"})
    response = _send(client, asset["qr_code"], token, lang="en")
    assert response.status_code == 200, response.text  # the follow-up page, after a 303
    assert "Report received" in response.text
    [ticket] = _tickets(run)
    assert ticket.title == "Fault reported at Tablero 3"


@pytest.mark.parametrize("case", ["no_token", "wrong_token", "no_cookie", "other_asset"])
def test_a_report_without_a_good_csrf_token_is_refused_and_creates_nothing(
    client: TestClient, run: Runner, team: Team, asset: dict[str, Any], case: str
) -> None:
    other = create_asset(client, team.owner, team.locale1, name="Otro")
    _, token = _open(client, asset["qr_code"])
    if case == "no_token":
        response = _send(client, asset["qr_code"], None)
    elif case == "wrong_token":
        response = _send(client, asset["qr_code"], token[:-4] + "AAAA")
    elif case == "no_cookie":
        client.cookies.clear()
        response = _send(client, asset["qr_code"], token)
    else:
        response = _send(client, other["qr_code"], token)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "El formulario expiró" in response.text
    assert _tickets(run) == []


def test_a_report_without_a_description_shows_the_form_again_with_what_was_typed(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"], **{"Accept-Language": "en"})
    response = _send(
        client, asset["qr_code"], token, description="  ", reporter_contact="no sirve", lang="en"
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'id="description-error"' in html and "Describe the fault." in html
    assert 'id="reporter_contact-error"' in html
    assert 'value="Ana Torres"' in html and 'value="no sirve"' in html
    assert CSRF.search(html) is not None  # the form can be sent again
    assert _tickets(run) == []


def test_a_file_that_is_not_an_image_is_refused_in_the_form(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"])
    response = _send(client, asset["qr_code"], token, ("falla.pdf", files.PDF, "image/png"))
    assert response.status_code == 422
    assert 'id="photo-error"' in response.text and "no es una foto" in response.text
    assert "Sale humo del tablero." in response.text
    assert _tickets(run) == [] and _count(run, TicketAttachment) == 0


@pytest.mark.parametrize("settings_overrides", [{"attachment_max_bytes": 1024}])
def test_a_photo_over_the_limit_is_refused(
    client: TestClient, run: Runner, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"])
    response = _send(
        client, asset["qr_code"], token, ("big.png", files.png() + os.urandom(2000), "image/png")
    )
    assert response.status_code == 422
    assert 'id="photo-error"' in response.text
    huge = _send(
        client, asset["qr_code"], token, ("huge.png", files.png() + os.urandom(70_000), "image/png")
    )
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("text/html")
    assert _tickets(run) == []


@pytest.mark.parametrize("settings_overrides", [{"public_rate_limit": "2/minute"}])
def test_the_scan_page_is_rate_limited_like_the_json_route(
    client: TestClient, asset: dict[str, Any]
) -> None:
    assert client.get(f"{API}/scan/{asset['qr_code']}").status_code == 200
    assert client.get(_page_path(asset["qr_code"])).status_code == 200
    response = client.get(_page_path(asset["qr_code"]))
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("settings_overrides", [{"public_rate_limit": "1/minute"}])
def test_the_follow_up_page_is_rate_limited(client: TestClient) -> None:
    assert client.get("/follow-up/" + "x" * 43).status_code == 404
    assert client.get("/follow-up/" + "x" * 43).status_code == 429


def _report(client: TestClient, code: str, **form: str) -> str:
    """Send a report from the scan page; the path of its follow-up link."""
    _, token = _open(client, code)
    response = _send(client, code, token, **form)
    assert response.status_code == 200, response.text  # the follow-up page, after a 303
    match = FOLLOW.search(response.text)
    assert match is not None
    return match.group(1)


def test_the_follow_up_page_shows_the_state_and_public_steps_only(
    client: TestClient, run: Runner, team: Team, asset: dict[str, Any]
) -> None:
    other = create_ticket(
        client, team.owner, team.locale1, title="Otra orden privada", asset_id=asset["id"]
    )
    path = _report(client, asset["qr_code"])
    [ticket] = [t for t in _tickets(run) if str(t.id) != other["id"]]
    comment = client.post(
        f"{API}/tickets/{ticket.id}/comments",
        json={"body": "Comentario interno: llamar a don Pedro"},
        headers=team.owner.headers,
    )
    assert comment.status_code == 201, comment.text
    moved_at = datetime(2026, 12, 7, 17, 30, tzinfo=UTC)  # 14:30 in Santiago (summer time)

    async def move(session: AsyncSession) -> None:
        await session.execute(
            update(ServiceTicket)
            .where(ServiceTicket.id == ticket.id)
            .values(status="in_progress", updated_at=moved_at)
        )
        session.add(
            TicketHistory(
                client_id=ticket.client_id,
                locale_id=ticket.locale_id,
                ticket_id=ticket.id,
                from_status="open",
                to_status="in_progress",
                actor_id=team.manager.id,
                comment="Nota interna del técnico",
                created_at=moved_at,
            )
        )

    run(move)
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert "Trabajo en curso" in html and "Recibida" in html
    assert "07-12-2026 14:30" in html
    for private in (
        "Comentario interno",
        "Nota interna",
        "don Pedro",
        "Otra orden privada",
        f"T-{other['number']:06d}",
        "Ana Torres",
        "+56 9",
        team.manager.email,
    ):
        assert private not in html, private
    english = client.get(path + "?lang=en")
    assert "Work in progress" in english.text and "2026-12-07 14:30" in english.text
    assert english.headers["content-security-policy"].count("form-action 'none'") == 1


def test_the_follow_up_page_speaks_the_reports_language_unless_switched(
    client: TestClient, asset: dict[str, Any]
) -> None:
    _, token = _open(client, asset["qr_code"])
    response = _send(client, asset["qr_code"], token, lang="en")
    match = FOLLOW.search(response.text)
    assert match is not None
    page = client.get(match.group(1), headers={"Accept-Language": "es-CL"})
    assert page.headers["content-language"] == "en" and "Received" in page.text
    switched = client.get(match.group(1) + "?lang=es-CL", headers={"Accept-Language": "en"})
    assert switched.headers["content-language"] == "es-CL" and "Recibida" in switched.text


@pytest.mark.parametrize("token", ["x" * 43, "short", "no%20such"])
def test_an_unknown_follow_up_link_is_a_friendly_404(client: TestClient, token: str) -> None:
    response = client.get(f"/follow-up/{token}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Enlace no encontrado" in response.text


def test_an_unknown_asset_code_is_a_friendly_404(client: TestClient) -> None:
    for code in ("NOPE123", "bad.code"):
        response = client.get(_page_path(code), headers={"Accept-Language": "en"})
        assert response.status_code == 404
        assert "Asset not found" in response.text


def test_the_pages_show_nothing_of_another_asset_or_client(
    client: TestClient, run: Runner, team: Team, asset: dict[str, Any]
) -> None:
    other_team = make_team(client, run)
    foreign = create_asset(client, other_team.owner, other_team.locale1, name="Caldera ajena")
    create_ticket(
        client, other_team.owner, other_team.locale1, title="Orden ajena", asset_id=foreign["id"]
    )
    response, _ = _open(client, asset["qr_code"])
    assert "Caldera ajena" not in response.text and "Local Uno" in response.text
    assert re.search(r'<dd class="count">0</dd>', response.text)
    path = _report(client, asset["qr_code"])
    page = client.get(path).text
    assert "Caldera ajena" not in page and "Orden ajena" not in page


def test_a_browser_opening_the_json_scan_address_is_sent_to_the_page(
    client: TestClient, asset: dict[str, Any]
) -> None:
    url = f"{API}/scan/{asset['qr_code']}"
    browser = client.get(
        url,
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        follow_redirects=False,
    )
    assert browser.status_code == 303
    assert browser.headers["location"] == _page_path(asset["qr_code"])
    app = client.get(url, headers={"Accept": "application/json"})
    assert app.status_code == 200 and set(app.json()) == {
        "asset_name",
        "locale_name",
        "open_tickets",
    }


def test_the_public_url_setting_and_its_former_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEROPS_PUBLIC_URL", raising=False)
    monkeypatch.setenv("KEROPS_PUBLIC_BASE_URL", "https://antes.example.cl/")
    assert Settings().base_url == "https://antes.example.cl"
    monkeypatch.setenv("KEROPS_PUBLIC_URL", "https://ops.example.cl/")
    assert Settings().base_url == "https://ops.example.cl"
    assert scan_url(Settings().base_url, "ABC") == "https://ops.example.cl/scan/ABC"


def test_the_csrf_cookie_is_strict_and_http_only(client: TestClient, asset: dict[str, Any]) -> None:
    response, _ = _open(client, asset["qr_code"])
    cookie = response.headers["set-cookie"].lower()
    assert "kerops_scan_csrf=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/scan/" in cookie
    assert "secure" not in cookie  # plain http in tests; https sets it
