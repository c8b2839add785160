"""Rules of ticket attachments: who adds, reads and removes files, and where they are stored.

Files go through :mod:`kerops.core.storage`: checked on the way in (size, sniffed type agreeing
with the name), stored under a server-chosen key ``{client_id}/tickets/{ticket_id}/{uuid7}``
before the row is written, and deleted only after the row's removal committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import TicketStatus
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.storage.sniffing import FILE_TYPES
from kerops.core.storage.uploads import ObjectWrites, ReceivedFile
from kerops.core.types import utcnow, uuid7
from kerops.operations.actors import actor_kinds
from kerops.operations.attachments_schemas import AttachmentKind
from kerops.operations.models import ServiceTicket, TicketAttachment
from kerops.operations.schemas import StepRole

ATTACHMENT_SORTS = {"created_at": TicketAttachment.created_at}
#: Every type a ticket accepts (see docs/attachments.md).
ACCEPTED_TYPES = frozenset(FILE_TYPES)
#: Who adds files: everyone who works or follows the ticket in a capacity of its workflow.
UPLOADERS = frozenset(
    {
        StepRole.staff,
        StepRole.owner,
        StepRole.manager,
        StepRole.requester,
        StepRole.technician,
        StepRole.vendor_admin,
    }
)
#: Who removes any file of a ticket (the uploader may always remove their own).
REMOVERS = frozenset({StepRole.staff, StepRole.owner, StepRole.manager})
CLOSED = (TicketStatus.completed, TicketStatus.cancelled)


def _refuse_closed(ticket: ServiceTicket) -> None:
    if ticket.status in CLOSED:
        raise Conflict(
            gettext(
                "The ticket is {status}; its files no longer change.", status=ticket.status.value
            ),
            code="ticket_closed",
        )


async def ticket_for_upload(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID
) -> ServiceTicket:
    """The ticket a caller adds a file to: 404 unseen, 403 for a mere reader, 409 when closed."""
    ticket = await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    if not await actor_kinds(session, principal, ticket) & UPLOADERS:
        raise Forbidden(gettext("You may read this ticket but not add files to it."))
    _refuse_closed(ticket)
    return ticket


def kind_for(received: ReceivedFile, requested: AttachmentKind | None) -> AttachmentKind:
    """The attachment's kind: as asked (photos and signatures are images, videos videos), or
    from the sniffed type (image → photo, video → video, anything else → document)."""
    family = received.file_type.family
    if requested is None:
        return {"image": AttachmentKind.photo, "video": AttachmentKind.video}.get(
            family, AttachmentKind.document
        )
    needed = {
        AttachmentKind.photo: "image",
        AttachmentKind.signature: "image",
        AttachmentKind.video: "video",
    }.get(requested)
    if needed is not None and family != needed:
        problem = gettext(
            "a {kind} must be an {needed}; this file is {label}",
            kind=requested.value,
            needed=needed,
            label=gettext(received.file_type.label),
        )
        raise Unprocessable(
            gettext("The file does not fit the kind '{kind}'.", kind=requested.value),
            errors=[field_error(("body", "kind"), problem, "kind_mismatch")],
        )
    return requested


async def add_attachment(
    session: AsyncSession,
    *,
    ticket: ServiceTicket,
    received: ReceivedFile,
    kind: AttachmentKind | None,
    uploaded_by_id: uuid.UUID | None,
    writes: ObjectWrites,
) -> TicketAttachment:
    """Store a checked file under a new key, then record it on the ticket."""
    attachment_kind = kind_for(received, kind)
    attachment_id = uuid7()
    key = f"{ticket.client_id}/tickets/{ticket.id}/{attachment_id}"
    await writes.put(key, received.file, content_type=received.media_type)
    attachment = TicketAttachment(
        id=attachment_id,
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        kind=attachment_kind.value,
        filename=received.filename,
        content_type=received.media_type,
        size_bytes=received.size_bytes,
        sha256=received.sha256,
        storage_key=key,
        uploaded_by_id=uploaded_by_id,
        created_at=utcnow(),
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def list_attachments(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    params: PageParams,
    kind: AttachmentKind | None = None,
    updated_since: datetime | None = None,
) -> tuple[Sequence[TicketAttachment], str | None]:
    """One page of a ticket's files, oldest first (``updated_since`` compares ``created_at``:
    a file's record never changes)."""
    await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    stmt = access.scoped(select(TicketAttachment), TicketAttachment, principal).where(
        TicketAttachment.ticket_id == ticket_id
    )
    if kind is not None:
        stmt = stmt.where(TicketAttachment.kind == kind.value)
    if updated_since is not None:
        stmt = stmt.where(TicketAttachment.created_at >= updated_since)
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=ATTACHMENT_SORTS,
        id_column=TicketAttachment.id,
        default_sort="created_at",
    )


async def get_attachment(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> TicketAttachment:
    """One file of a ticket the caller can read (one query: the rule follows the ticket)."""
    stmt = access.scoped(select(TicketAttachment), TicketAttachment, principal).where(
        TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket_id
    )
    attachment: TicketAttachment | None = (await session.execute(stmt)).scalar_one_or_none()
    if attachment is None:
        raise NotFound(gettext("attachment not found"))
    return attachment


async def delete_attachment(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    attachment_id: uuid.UUID,
    writes: ObjectWrites,
) -> None:
    """Remove a file: its uploader, the client's owner, a manager of the locale or staff."""
    ticket = await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    attachment = await get_attachment(
        session, principal=principal, ticket_id=ticket.id, attachment_id=attachment_id
    )
    own = attachment.uploaded_by_id is not None and attachment.uploaded_by_id == principal.user_id
    if not own and not await actor_kinds(session, principal, ticket) & REMOVERS:
        raise Forbidden(
            gettext(
                "Only the uploader, the client's owner or a manager of the locale removes a file."
            )
        )
    _refuse_closed(ticket)
    await session.delete(attachment)
    await session.flush()
    writes.release(attachment.storage_key)
