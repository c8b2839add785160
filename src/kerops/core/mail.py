"""Outgoing messages (email, SMS) behind one sender interface.

Console/outbox by default, SMTP by setting.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import anyio
import structlog

from kerops.config import Settings

log = structlog.get_logger("kerops.mail")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail."""

    filename: str
    content_type: str  # "application/pdf"
    content: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message handed to a sender."""

    channel: str  # "email" or "sms"
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


class Sender(Protocol):
    """Delivers messages to people."""

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver one message."""


@dataclass
class OutboxSender:
    """Keeps messages in memory and logs them: the default, and readable by tests."""

    outbox: list[OutgoingMessage] = field(default_factory=list)

    async def send(self, message: OutgoingMessage) -> None:
        """Record and print the message (to the log): nothing is sent."""
        self.outbox.append(message)
        log.info(
            "message_printed_not_sent",
            channel=message.channel,
            to=message.to,
            subject=message.subject,
            body=message.body,
            attachments=[a.filename for a in message.attachments],
        )

    def last_to(self, to: str) -> OutgoingMessage | None:
        """The newest message sent to ``to``."""
        for message in reversed(self.outbox):
            if message.to == to:
                return message
        return None


class SmtpSender:
    """Sends email through SMTP; SMS falls back to the outbox (no SMS gateway configured)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fallback = OutboxSender()

    async def send(self, message: OutgoingMessage) -> None:
        """Send email by SMTP in a worker thread."""
        if message.channel != "email":
            await self.fallback.send(message)
            return
        await anyio.to_thread.run_sync(self._send_sync, message)

    def _send_sync(self, message: OutgoingMessage) -> None:
        s = self.settings
        email = build_email(message, s.smtp_from)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=15) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
            smtp.send_message(email)


def build_email(message: OutgoingMessage, sender: str) -> EmailMessage:
    """The e-mail of ``message`` from ``sender``: its text, and its attachments as parts."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email.set_content(message.body)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return email


#: What the console backend says when the service starts.
CONSOLE_NOTICE = (
    "E-mails are printed to the log, not sent (KEROPS_EMAIL_BACKEND=console). To send them, set "
    "KEROPS_EMAIL_BACKEND=smtp with KEROPS_SMTP_HOST, KEROPS_SMTP_PORT, KEROPS_SMTP_USERNAME, "
    "KEROPS_SMTP_PASSWORD, KEROPS_SMTP_STARTTLS and KEROPS_SMTP_FROM."
)


def backend_notice(settings: Settings) -> str | None:
    """What a starting service says of its e-mail backend: the console backend's notice that
    e-mails are printed, not sent, and how to send them; nothing for SMTP."""
    return CONSOLE_NOTICE if settings.email_backend == "console" else None


def create_sender(settings: Settings) -> Sender:
    """The sender the settings ask for."""
    return SmtpSender(settings) if settings.email_backend == "smtp" else OutboxSender()


async def deliver(sender: Sender, message: OutgoingMessage) -> None:
    """Send a message, logging (not raising) a failure.

    Routes schedule it as a background task: it runs after the response, hence after the
    request's transaction committed, and never for a request that failed.
    """
    try:
        await sender.send(message)
    except Exception:
        log.exception("message_delivery_failed", channel=message.channel, to=message.to)
