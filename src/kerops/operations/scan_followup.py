"""The scan page's view of an asset and the private follow-up links of the faults reported
from it: a reporter without an account follows their ticket's status through a link whose token
only they hold (its SHA-256 is stored), and sees nothing else of the client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core.enums import TicketStatus
from kerops.core.i18n import N_
from kerops.core.security import hash_token, random_token
from kerops.operations.models import ScanFollowLink, ServiceTicket, TicketHistory
from kerops.operations.scan import CLOSED_TICKET_STATES
from kerops.operations.schemas import ticket_code
from kerops.tenancy.models import LocalArea, Locale

#: What a reporter reads for each state of their ticket (translated where it is shown).
STATUS_LABELS: dict[TicketStatus, str] = {
    TicketStatus.open: N_("Received"),
    TicketStatus.assigned: N_("Assigned to a technician"),
    TicketStatus.accepted: N_("Accepted by the technician"),
    TicketStatus.en_route: N_("Technician on the way"),
    TicketStatus.in_progress: N_("Work in progress"),
    TicketStatus.on_hold: N_("On hold"),
    TicketStatus.waiting_parts: N_("Waiting for parts"),
    TicketStatus.waiting_approval: N_("Waiting for approval"),
    TicketStatus.resolved: N_("Fault resolved"),
    TicketStatus.completed: N_("Work completed"),
    TicketStatus.cancelled: N_("Order cancelled"),
    TicketStatus.reopened: N_("Order reopened"),
}


@dataclass(frozen=True)
class AssetView:
    """What the scan page shows of an asset: names, its code and how many tickets are open."""

    code: str
    name: str
    locale_name: str
    area_name: str | None
    open_tickets: int


@dataclass(frozen=True)
class Step:
    """One public step of a ticket's history: the state it reached, and when."""

    status: TicketStatus
    at: datetime


@dataclass(frozen=True)
class FollowUp:
    """What a follow-up link shows: the ticket's number, state, last change and public steps,
    the asset and locale it is about; no comment, no person, no other ticket."""

    ticket_code: str
    status: TicketStatus
    updated_at: datetime
    asset_name: str | None
    locale_name: str
    timezone: str
    language: str
    steps: tuple[Step, ...]


async def asset_view(session: AsyncSession, *, code: str) -> AssetView | None:
    """The asset a QR code names, as its scan page shows it; None for an unknown code."""
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
            select(Asset.qr_code, Asset.name, Locale.name, LocalArea.name, open_tickets)
            .join(Locale, Locale.id == Asset.locale_id)
            .outerjoin(LocalArea, LocalArea.id == Asset.area_id)
            .where(Asset.qr_code == code)
        )
    ).first()
    if row is None:
        return None
    return AssetView(
        code=row[0], name=row[1], locale_name=row[2], area_name=row[3], open_tickets=int(row[4])
    )


def new_follow_link(session: AsyncSession, *, ticket: ServiceTicket, language: str) -> str:
    """Give a reported ticket its private follow-up link; returns the token (only its hash is
    kept, so it is shown once)."""
    token = random_token(32)
    session.add(
        ScanFollowLink(
            client_id=ticket.client_id,
            ticket_id=ticket.id,
            token_hash=hash_token(token),
            language=language,
        )
    )
    return token


async def follow_up(session: AsyncSession, *, token: str) -> FollowUp | None:
    """What the follow-up link of ``token`` shows; None for an unknown token."""
    row = (
        await session.execute(
            select(
                ServiceTicket.id,
                ServiceTicket.number,
                ServiceTicket.status,
                ServiceTicket.updated_at,
                Asset.name,
                Locale.name,
                Locale.timezone,
                ScanFollowLink.language,
            )
            .join(ScanFollowLink, ScanFollowLink.ticket_id == ServiceTicket.id)
            .join(Locale, Locale.id == ServiceTicket.locale_id)
            .outerjoin(Asset, Asset.id == ServiceTicket.asset_id)
            .where(ScanFollowLink.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    ticket_id: uuid.UUID = row[0]
    steps = (
        await session.execute(
            select(TicketHistory.to_status, TicketHistory.created_at)
            .where(TicketHistory.ticket_id == ticket_id)
            .order_by(TicketHistory.created_at, TicketHistory.id)
        )
    ).all()
    return FollowUp(
        ticket_code=ticket_code(row[1]),
        status=row[2],
        updated_at=row[3],
        asset_name=row[4],
        locale_name=row[5],
        timezone=row[6],
        language=row[7],
        steps=tuple(Step(status=status, at=at) for status, at in steps),
    )
