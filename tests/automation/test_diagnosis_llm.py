"""An LLM provider refines the diagnosis when set; any failure of it keeps the offline one.

The provider is a small real HTTP server speaking the OpenAI chat-completions shape.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.automation.helpers import (
    INLINE_JOBS,
    Site,
    add_resolved_ticket,
    make_site,
    ticket_row,
)
from tests.fixtures.factories import Runner
from tests.fixtures.operations import create_ticket


class Provider:
    """What the fake provider answers, and what it was asked."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.provider.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if self.provider.mode == "broken":
            self._send(500, {"error": {"message": "overloaded"}})
            return
        if self.provider.mode == "garbage":
            content = "I think it is the plumbing, probably."
        else:
            prompt = json.loads(body["messages"][1]["content"])
            similar = [t["id"] for t in prompt["similar_tickets"][:1]]
            content = json.dumps(
                {
                    "cause": "Sello de la válvula de paso gastado",
                    "skill": "plumbing",
                    "part_ids": [],
                    "similar_ticket_ids": similar,
                    "confidence": 0.91,
                }
            )
        self._send(
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def provider_server() -> Iterator[tuple[Provider, str]]:
    provider = Provider()
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def provider(provider_server: tuple[Provider, str]) -> Provider:
    found, _ = provider_server
    found.mode = "ok"
    found.requests.clear()
    return found


@pytest.fixture
def settings_overrides(provider_server: tuple[Provider, str]) -> dict[str, Any]:
    return {
        **INLINE_JOBS,
        "ai_provider_url": provider_server[1],
        "ai_model": "test-model",
        "ai_api_key": "sk-test",
        "ai_timeout_seconds": 5,
    }


def _ticket_with_history(client: TestClient, run: Runner) -> tuple[str, set[str], Site]:
    site = make_site(client, run)
    hvac = {
        str(add_resolved_ticket(run, site, title=t, skill="hvac", note="Carga de refrigerante"))
        for t in ("Chiller no enfría", "Chiller sin frío", "Aire acondicionado no enfría")
    }
    body = create_ticket(client, site.owner, site.locale_id, title="El chiller no enfría")
    return body["id"], hvac, site


def test_the_provider_refines_the_offline_diagnosis(
    client: TestClient, run: Runner, provider: Provider
) -> None:
    ticket_id, hvac, _ = _ticket_with_history(client, run)
    ticket = ticket_row(run, ticket_id)
    assert ticket.ai_skill == "plumbing"
    assert ticket.ai_cause == "Sello de la válvula de paso gastado"
    assert ticket.ai_confidence == 0.91
    assert len(ticket.ai_similar_ticket_ids) == 1 and ticket.ai_similar_ticket_ids[0] in hvac
    # The model read the notes of all three: its cause is shown only to who may read them all.
    assert set(ticket.ai_cause_ticket_ids) == hvac
    [request] = provider.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model"
    prompt = json.loads(request["body"]["messages"][1]["content"])
    assert prompt["offline_suggestion"]["skill"] == "hvac"
    assert {t["id"] for t in prompt["similar_tickets"]} == hvac


@pytest.mark.parametrize("mode", ["broken", "garbage"])
def test_a_failing_provider_keeps_the_offline_diagnosis(
    client: TestClient, run: Runner, provider: Provider, mode: str
) -> None:
    provider.mode = mode
    ticket_id, hvac, _ = _ticket_with_history(client, run)
    ticket = ticket_row(run, ticket_id)
    assert len(provider.requests) == 1
    assert ticket.ai_skill == "hvac"
    assert set(ticket.ai_similar_ticket_ids) == hvac


def test_the_rerun_says_which_engine_answered(
    client: TestClient, run: Runner, provider: Provider
) -> None:
    ticket_id, _, site = _ticket_with_history(client, run)
    headers = site.owner.headers
    ok = client.post(f"/api/v1/tickets/{ticket_id}/diagnosis", headers=headers)
    assert ok.json()["engine"] == "llm"
    provider.mode = "broken"
    fallback = client.post(f"/api/v1/tickets/{ticket_id}/diagnosis", headers=headers)
    assert fallback.status_code == 200
    assert fallback.json()["engine"] == "offline"
    assert fallback.json()["skill"] == "hvac"
