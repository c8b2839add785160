"""Isolation cases of ticket attachments, licence documents and the scan page's photo report."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import TicketStatus
from kerops.core.storage.backends import storage_of
from kerops.core.types import utcnow, uuid7
from kerops.operations.models import ServiceTicket, TicketAttachment, Workflow
from kerops.operations.numbering import next_ticket_number
from kerops.workforce.models import TechnicianCertification
from tests.fixtures import files
from tests.isolation import Case, World, public

P = "/api/v1"

ATTACHMENTS = "/tickets/{ticket_id}/attachments"
ATTACHMENT = f"{ATTACHMENTS}/{{attachment_id}}"
DOCUMENT = "/technicians/certifications/{certification_id}/document"


def _objects(w: World) -> dict[str, uuid.UUID]:
    """A's ticket with a photo, and a licence of A's technician with its document.

    Rows by Core statements (no audit rows); the stored objects are written through the storage
    module, so a download by an outsider would find them.
    """

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ticket_id, attachment_id, cert_id = uuid7(), uuid7(), uuid7()
        photo_key = f"{client_id}/tickets/{ticket_id}/{attachment_id}"
        document_key = f"{client_id}/certifications/{cert_id}/{uuid7()}.pdf"
        photo = files.png()
        now = utcnow()
        storage = storage_of(w.client.app.state)

        async def create(session: AsyncSession) -> None:
            await storage.put_bytes(photo_key, photo, content_type="image/png")
            await storage.put_bytes(document_key, files.PDF, content_type="application/pdf")
            workflow_id = (
                await session.execute(
                    select(Workflow.id).where(
                        Workflow.client_id == client_id, Workflow.is_default.is_(True)
                    )
                )
            ).scalar_one()
            await session.execute(
                insert(ServiceTicket).values(
                    id=ticket_id,
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: tablero con olor a quemado",
                    description="",
                    locale_id=w.a_locale,
                    requester_id=w.a_requester.id,
                    technician_id=w.a_technician.id,
                    vendor_id=w.a_vendor,
                    workflow_id=workflow_id,
                    status=TicketStatus.in_progress,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.execute(
                insert(TicketAttachment).values(
                    id=attachment_id,
                    client_id=client_id,
                    locale_id=w.a_locale,
                    ticket_id=ticket_id,
                    kind="photo",
                    filename="tablero.png",
                    content_type="image/png",
                    size_bytes=len(photo),
                    sha256="0" * 64,
                    storage_key=photo_key,
                    uploaded_by_id=w.a_technician.id,
                    created_at=now,
                )
            )
            await session.execute(
                insert(TechnicianCertification).values(
                    id=cert_id,
                    technician_id=w.a_technician.id,
                    client_id=client_id,
                    cert_type="sec_class_a",
                    number="A-SEC-1",
                    issuer="SEC",
                    expires_date=(now + timedelta(days=365)).date(),
                    document_key=document_key,
                    created_at=now,
                    updated_at=now,
                )
            )

        w.run(create)
        ids = {"ticket": ticket_id, "attachment": attachment_id, "certification": cert_id}
        w.remember(*ids.values())
        return ids

    objects: dict[str, uuid.UUID] = w.once("attachments", make)
    return objects


def _ticket(w: World) -> dict[str, Any]:
    return {"ticket_id": _objects(w)["ticket"]}


def _attachment(w: World) -> dict[str, Any]:
    ids = _objects(w)
    return {"ticket_id": ids["ticket"], "attachment_id": ids["attachment"]}


def _certification(w: World) -> dict[str, Any]:
    return {"certification_id": _objects(w)["certification"]}


CASES = {
    # Uploads to A's ticket: the ticket is loaded before the form is read, so outsiders get 404.
    ("POST", f"{P}{ATTACHMENTS}"): Case(params=_ticket),
    ("GET", f"{P}{ATTACHMENTS}"): Case(params=_ticket, kind="list"),
    ("GET", f"{P}{ATTACHMENT}"): Case(params=_attachment),
    ("GET", f"{P}{ATTACHMENT}/content"): Case(params=_attachment),
    ("DELETE", f"{P}{ATTACHMENT}"): Case(params=_attachment),
    ("PUT", f"{P}{DOCUMENT}"): Case(params=_certification),
    ("GET", f"{P}{DOCUMENT}"): Case(params=_certification),
}

PUBLIC = {
    ("POST", f"{P}/scan/{{code}}/photo-report"): public(
        "the form version of the public fault report (with an optional photo): the unguessable "
        "QR code is the credential, rate-limited per address, the upload bounded by the limit"
    ),
}
