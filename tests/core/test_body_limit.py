"""Request bodies are capped before they are read (KEROPS_MAX_BODY_BYTES); uploads keep theirs."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kerops.config import Settings
from kerops.core.enums import UserRole
from kerops.main import create_app
from tests.fixtures import files
from tests.fixtures.factories import Account, Runner, make_user
from tests.fixtures.live_server import serve
from tests.fixtures.operations import create_ticket
from tests.fixtures.tenancy import make_team

API = "/api/v1"
LIMIT = 4096

pytestmark = pytest.mark.parametrize(
    "settings_overrides", [{"max_body_bytes": LIMIT, "attachment_max_bytes": 64 * 1024}]
)


@pytest.fixture
def owner(client: TestClient, run: Runner) -> Account:
    return make_user(client, run, role=UserRole.client_owner)


def locale_body(size: int) -> bytes:
    """A valid locale as JSON, padded with whitespace (still valid JSON) to ``size`` bytes."""
    body = json.dumps({"name": "Local Relleno"}).encode()
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"}"


def chunks(body: bytes, size: int = 1024) -> Iterator[bytes]:
    """``body`` streamed in chunks (no Content-Length: chunked)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def locales(client: TestClient, owner: Account) -> list[Any]:
    response = client.get(f"{API}/locales", headers=owner.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def assert_payload_too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "payload_too_large" and problem["max_bytes"] == LIMIT
    assert problem["request_id"] == response.headers["x-request-id"]


def test_a_declared_length_over_the_limit_is_refused_before_the_handler_runs(
    client: TestClient, owner: Account
) -> None:
    response = client.post(
        f"{API}/locales",
        content=locale_body(LIMIT + 1),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_payload_too_large(response)
    assert locales(client, owner) == []


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    client: TestClient, owner: Account
) -> None:
    response = client.post(
        f"{API}/locales",
        content=chunks(locale_body(20 * LIMIT)),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_payload_too_large(response)
    assert locales(client, owner) == []


def test_a_chunked_body_over_the_limit_is_answered_before_it_ends(settings: Settings) -> None:
    # Over a real connection: the body's last chunk is never sent, so an app that read the
    # body to its end would never answer (the socket's timeout only ends such a failure).
    with serve(create_app(settings)) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for _ in range(LIMIT // 1024 + 1):
                sock.sendall(b"400\r\n" + b" " * 1024 + b"\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                received = sock.recv(65536)
                assert received, "the connection closed without an answer"
                answer += received
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_form_body_over_the_limit_is_refused(client: TestClient) -> None:
    form = {"username": "someone@example.com", "password": "x" * (2 * LIMIT)}
    response = client.post(f"{API}/auth/token", data=form)
    assert_payload_too_large(response)


def test_the_limit_holds_on_paths_without_a_route(client: TestClient) -> None:
    response = client.post(f"{API}/nothing-here", content=b"x" * (LIMIT + 1))
    assert_payload_too_large(response)


def test_a_body_at_the_limit_is_taken(client: TestClient, owner: Account) -> None:
    response = client.post(
        f"{API}/locales",
        content=locale_body(LIMIT),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert [item["name"] for item in locales(client, owner)] == ["Local Relleno"]


def test_a_chunked_body_at_the_limit_is_taken(client: TestClient, owner: Account) -> None:
    response = client.post(
        f"{API}/locales",
        content=chunks(locale_body(LIMIT)),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_an_upload_route_keeps_its_own_larger_limit(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = create_ticket(client, team.requester, team.locale1)
    data = files.PDF + b"0" * (8 * LIMIT)
    response = client.post(
        f"{API}/tickets/{ticket['id']}/attachments",
        files={"file": ("informe.pdf", data, "application/octet-stream")},
        headers=team.requester.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == len(data)


def test_an_iot_batch_keeps_its_own_larger_limit(client: TestClient, run: Runner) -> None:
    from tests.iot.readings_helpers import make_sensor, send

    sensor = make_sensor(client, run)
    batch = [{"metric": "temperature", "value": i % 50, "message_id": str(i)} for i in range(200)]
    assert len(json.dumps({"readings": batch})) > 2 * LIMIT
    assert send(client, sensor.key, batch)["accepted"] == 200
