"""Ticket attachments: upload, list, read, download and remove a ticket's files."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile, status
from fastapi.responses import StreamingResponse

from kerops.core.deps import AuthenticatedUploadRoute, PrincipalDep, SessionDep, StateDep
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.storage.backends import StorageDep
from kerops.core.storage.downloads import download_headers
from kerops.core.storage.sniffing import FILE_TYPES, describe
from kerops.core.storage.uploads import ObjectWritesDep, receive_upload
from kerops.operations import attachments
from kerops.operations.attachments_schemas import AttachmentKind, AttachmentRead
from kerops.operations.models import ServiceTicket, TicketAttachment

router = APIRouter(tags=["ticket attachments"], route_class=AuthenticatedUploadRoute)

AttachmentPage = Annotated[PageParams, sorted_by(attachments.ATTACHMENT_SORTS)]

ATTACHMENTS = "/tickets/{ticket_id}/attachments"
ATTACHMENT = f"{ATTACHMENTS}/{{attachment_id}}"

#: The 200 answer of a download: the stored bytes in their sniffed media type.
BINARY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, in the media type found when it was uploaded.",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in FILE_TYPES
        },
    }
}


async def _ticket_for_upload(
    ticket_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> ServiceTicket:
    # A dependency, so the access check answers before the form's fields are validated.
    return await attachments.ticket_for_upload(session, principal=principal, ticket_id=ticket_id)


@router.post(ATTACHMENTS, response_model=AttachmentRead, status_code=status.HTTP_201_CREATED)
async def upload_attachment(
    ticket: Annotated[ServiceTicket, Depends(_ticket_for_upload)],
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    writes: ObjectWritesDep,
    file: Annotated[UploadFile, File(description=f"The file ({describe(FILE_TYPES)})")],
    kind: Annotated[
        AttachmentKind | None,
        Form(description="Default from the content: image → photo, video → video, else document"),
    ] = None,
) -> TicketAttachment:
    """Attach a file to a ticket (anyone who works or follows it; not read-only viewers)."""
    received = await receive_upload(
        file, max_bytes=state.settings.attachment_max_bytes, accepted=attachments.ACCEPTED_TYPES
    )
    try:
        return await attachments.add_attachment(
            session,
            ticket=ticket,
            received=received,
            kind=kind,
            uploaded_by_id=principal.user_id,
            writes=writes,
        )
    finally:
        received.close()


@router.get(ATTACHMENTS, response_model=Page[AttachmentRead])
async def list_attachments(
    ticket_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    page: AttachmentPage,
    kind: AttachmentKind | None = None,
    updated_since: UpdatedSince = None,
) -> dict[str, object]:
    """A ticket's files, oldest first (sort: created_at)."""
    items, cursor = await attachments.list_attachments(
        session,
        principal=principal,
        ticket_id=ticket_id,
        params=page,
        kind=kind,
        updated_since=updated_since,
    )
    return {"items": items, "next_cursor": cursor}


@router.get(ATTACHMENT, response_model=AttachmentRead)
async def get_attachment(
    ticket_id: uuid.UUID, attachment_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> TicketAttachment:
    """One file's details."""
    return await attachments.get_attachment(
        session, principal=principal, ticket_id=ticket_id, attachment_id=attachment_id
    )


@router.get(f"{ATTACHMENT}/content", response_class=StreamingResponse, responses=BINARY_RESPONSE)
async def download_attachment(
    ticket_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    storage: StorageDep,
) -> StreamingResponse:
    """Download a file (always as an attachment, in its sniffed type, never content-sniffed)."""
    attachment = await attachments.get_attachment(
        session, principal=principal, ticket_id=ticket_id, attachment_id=attachment_id
    )
    size, chunks = await storage.open(attachment.storage_key)
    return StreamingResponse(
        chunks,
        media_type=attachment.content_type,
        headers=download_headers(attachment.filename, size, attachment.sha256),
    )


@router.delete(ATTACHMENT, status_code=status.HTTP_204_NO_CONTENT)
async def delete_attachment(
    ticket_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    writes: ObjectWritesDep,
) -> None:
    """Remove a file (its uploader, the client's owner or a manager of the locale)."""
    await attachments.delete_attachment(
        session,
        principal=principal,
        ticket_id=ticket_id,
        attachment_id=attachment_id,
        writes=writes,
    )
