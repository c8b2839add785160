"""Email delivery through SMTP (a real SMTP server run by the test)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from kerops.config import Settings
from kerops.core.mail import OutgoingMessage, SmtpSender, create_sender
from tests.fixtures.factories import register_owner
from tests.fixtures.live_server import free_port


class Inbox:
    """Collects what the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content)
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "subject": parsed["Subject"],
                "body": parsed.get_payload(decode=True).decode(),
            }
        )
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def settings_overrides(smtp: tuple[int, Inbox]) -> dict[str, Any]:
    return {
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp[0],
        "smtp_starttls": False,
        "smtp_from": "KER Ops <no-reply@kerops.test>",
    }


def test_smtp_backend_is_chosen_by_setting(settings: Settings) -> None:
    assert isinstance(create_sender(settings), SmtpSender)


def test_sender_delivers_through_smtp(settings: Settings, smtp: tuple[int, Inbox]) -> None:
    _, inbox = smtp
    before = len(inbox.messages)
    message = OutgoingMessage(channel="email", to="ana@example.cl", subject="Hola", body="Prueba")
    asyncio.run(SmtpSender(settings).send(message))
    received = inbox.messages[before:]
    assert received == [
        {
            "from": "no-reply@kerops.test",
            "to": ["ana@example.cl"],
            "subject": "Hola",
            "body": "Prueba\r\n",
        }
    ]


def test_otp_login_code_arrives_by_smtp(client: TestClient, smtp: tuple[int, Inbox]) -> None:
    _, inbox = smtp
    owner = register_owner(client)
    before = len(inbox.messages)
    response = client.post("/api/v1/auth/otp/request", json={"email": owner.email})
    assert response.status_code == 202
    received = [m for m in inbox.messages[before:] if m["to"] == [owner.email]]
    assert len(received) == 1
    code = "".join(ch for ch in received[0]["body"] if ch.isdigit())[:6]
    verify = client.post("/api/v1/auth/otp/verify", json={"email": owner.email, "code": code})
    assert verify.status_code == 200, verify.text
