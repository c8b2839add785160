"""QR codes of assets and the public scan page."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
import segno
from fastapi.testclient import TestClient

from kerops.core.enums import TicketStatus
from tests.fixtures.assets import create_asset, make_ticket
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import make_team

API = "/api/v1"


def _segno(url: str, kind: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind=kind, scale=4, border=4)
    return buffer.getvalue()


@pytest.mark.parametrize(("fmt", "media_type"), [("svg", "image/svg+xml"), ("png", "image/png")])
def test_qr_encodes_the_public_scan_url(
    client: TestClient, run: Runner, fmt: str, media_type: str
) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    response = client.get(
        f"{API}/assets/{asset['id']}/qr", params={"format": fmt}, headers=team.viewer.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    url = f"http://testserver/scan/{asset['qr_code']}"
    assert response.content == _segno(url, fmt)
    if fmt == "svg":
        assert b"<svg" in response.content and b"<path" in response.content
    else:
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_qr_defaults_to_svg_and_refuses_other_formats(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1)
    url = f"{API}/assets/{asset['id']}/qr"
    response = client.get(url, headers=team.owner.headers)
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert client.get(url, params={"format": "gif"}, headers=team.owner.headers).status_code == 422
    assert client.get(url, headers=team.outsider.headers).status_code == 404


def test_scan_shows_only_three_fields(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    asset = create_asset(client, team.owner, team.locale1, name="Caldera", serial_number="SECRET")
    asset_id = uuid.UUID(asset["id"])
    for status in (TicketStatus.open, TicketStatus.in_progress, TicketStatus.waiting_parts):
        make_ticket(run, team.client_id, team.locale1, asset_id, status)
    for status in (TicketStatus.resolved, TicketStatus.completed, TicketStatus.cancelled):
        make_ticket(run, team.client_id, team.locale1, asset_id, status)
    response = client.get(f"{API}/scan/{asset['qr_code']}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body == {"asset_name": "Caldera", "locale_name": "Local Uno", "open_tickets": 3}
    assert "SECRET" not in response.text and asset["id"] not in response.text


def test_scan_of_an_unknown_code_is_not_found(client: TestClient, run: Runner) -> None:
    response = client.get(f"{API}/scan/{'x' * 32}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/scan/short").status_code == 404
    assert client.get(f"{API}/scan/{'z' * 65}").status_code == 422


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_rate_limit": "3/minute"}


def test_scan_is_rate_limited_per_address(client: TestClient, run: Runner) -> None:
    for _ in range(3):
        assert client.get(f"{API}/scan/{'y' * 32}").status_code == 404
    response = client.get(f"{API}/scan/{'y' * 32}")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
