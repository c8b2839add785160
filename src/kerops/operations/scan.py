"""The public scan page of an asset's QR code: what it shows (the asset's and locale's names,
its open tickets) and the fault anyone on site reports from it (a ticket on the asset)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core.enums import TicketStatus
from kerops.core.errors import NotFound
from kerops.core.i18n import gettext
from kerops.core.storage.uploads import ObjectWrites, ReceivedFile
from kerops.operations import attachments as attachments_service
from kerops.operations import intake as ticket_intake
from kerops.operations.attachments_schemas import AttachmentKind
from kerops.operations.models import ServiceTicket
from kerops.operations.scan_schemas import ScanRead, ScanReportCreate, ScanReportRead
from kerops.operations.schemas import ticket_code
from kerops.tenancy.models import Locale

#: Tickets in these states no longer count as open on the scan page.
CLOSED_TICKET_STATES = (TicketStatus.resolved, TicketStatus.completed, TicketStatus.cancelled)


async def scan(session: AsyncSession, *, code: str) -> ScanRead:
    """What a QR code's public page shows: the asset's and locale's names, open tickets."""
    open_tickets = (
        select(func.count())
        .select_from(ServiceTicket)
        .where(
            ServiceTicket.asset_id == Asset.id,
            ServiceTicket.status.not_in(CLOSED_TICKET_STATES),
        )
        .correlate(Asset)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Asset.name, Locale.name, open_tickets)
            .join(Locale, Locale.id == Asset.locale_id)
            .where(Asset.qr_code == code)
        )
    ).first()
    if row is None:
        raise NotFound(gettext("asset not found"))
    return ScanRead(asset_name=row[0], locale_name=row[1], open_tickets=int(row[2]))


async def raise_report(
    session: AsyncSession,
    *,
    code: str,
    description: str,
    reporter_name: str | None,
    reporter_contact: str | None,
    language: str | None = None,
    photo: ReceivedFile | None = None,
    writes: ObjectWrites | None = None,
) -> ServiceTicket:
    """A fault reported from a QR code's public page: a ticket on its asset (with the photo, if
    one was sent, as its first attachment), its title in ``language`` (the request's)."""
    asset = (await session.execute(select(Asset).where(Asset.qr_code == code))).scalar_one_or_none()
    if asset is None:
        raise NotFound(gettext("asset not found"))
    ticket = await ticket_intake.create_scan_report_ticket(
        session,
        asset=asset,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
        description=description,
        language=language,
    )
    if photo is not None and writes is not None:
        await attachments_service.add_attachment(
            session,
            ticket=ticket,
            received=photo,
            kind=AttachmentKind.photo,
            uploaded_by_id=None,
            writes=writes,
        )
    return ticket


async def report_fault(
    session: AsyncSession,
    *,
    code: str,
    data: ScanReportCreate,
    photo: ReceivedFile | None = None,
    writes: ObjectWrites | None = None,
) -> ScanReportRead:
    """A fault reported through the API (``raise_report``), answered by the ticket's code and
    a thank-you in the request's language."""
    ticket = await raise_report(
        session,
        code=code,
        description=data.description,
        reporter_name=data.reporter_name,
        reporter_contact=data.reporter_contact,
        photo=photo,
        writes=writes,
    )
    return ScanReportRead(
        ticket_number_code=ticket_code(ticket.number),
        message=gettext(
            "Thank you: your report was received and the maintenance team was notified."
        ),
    )
