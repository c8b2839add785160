"""Assigning a technician (and vendor) to a ticket, and ranking the technicians who could take it.

Who may be assigned is decided by the ticket's client, not by the caller's own reach: the client's
own technicians, or a technician of a vendor the client can use (a platform-wide vendor or one of
the client's private vendors), named together with that vendor. A technician is eligible at an
instant ``at`` when they are active, hold the ticket's required skill, have a working shift
covering ``at``, are not on leave then, and hold a licence of the ticket's required certification
valid on the date of ``at`` (a licence without an expiry date counts as valid).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import ShiftType, TicketStatus, UserRole
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import N_, gettext
from kerops.core.principal import Principal
from kerops.core.schemas import ApiDateTime, InputModel, ReadModel
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.operations.actors import actor_kinds
from kerops.operations.models import ServiceTicket, TicketHistory
from kerops.operations.schemas import StepRole
from kerops.operations.ticket_events import ticket_event
from kerops.operations.tickets import CLOSED_STATES
from kerops.tenancy.models import Locale
from kerops.users.clients import language_of_client
from kerops.users.models import User, Vendor
from kerops.workforce import licences
from kerops.workforce.models import TechnicianCertification, TechnicianShift
from kerops.workforce.schemas import MAX_SHIFT

#: States in which a ticket can no longer be (re)assigned.
FINAL_STATES = (TicketStatus.completed, TicketStatus.cancelled)
ASSIGNERS = frozenset({StepRole.owner, StepRole.manager, StepRole.staff})


class Reason(enum.StrEnum):
    """Why a technician cannot take a ticket at a given instant."""

    inactive = "inactive"
    missing_skill = "missing_skill"
    no_shift = "no_shift"
    on_leave = "on_leave"
    licence_missing = "licence_missing"
    licence_expired = "licence_expired"


#: Why a technician cannot take a ticket, for people (translated where shown).
REASON_TEXT = {
    Reason.inactive: N_("the technician is deactivated"),
    Reason.missing_skill: N_("the technician lacks the ticket's required skill"),
    Reason.no_shift: N_("the technician has no working shift at that time"),
    Reason.on_leave: N_(
        "the technician is on leave (day off, sick leave or vacation) at that time"
    ),
    Reason.licence_missing: N_("the technician holds no licence of the required certification"),
    Reason.licence_expired: N_(
        "the technician's licence of the required certification has expired"
    ),
}


# --- schemas -------------------------------------------------------------------------------------


class AssignmentCreate(InputModel):
    """Assign a technician (of the client, or of ``vendor_id``) as of ``at`` (default: the
    ticket's planned time, else now)."""

    technician_id: uuid.UUID
    vendor_id: uuid.UUID | None = None
    at: ApiDateTime | None = None


class CandidateRead(ReadModel):
    """A technician who might take the ticket, with the reasons they cannot (if any)."""

    technician_id: uuid.UUID
    full_name: str
    vendor_id: uuid.UUID | None
    eligible: bool
    reasons: list[Reason]
    open_tickets: int


class CandidateList(ReadModel):
    """The ranked candidates of a ticket at an instant: eligible first, least loaded first."""

    at: datetime
    items: list[CandidateRead]


# --- helpers -------------------------------------------------------------------------------------


async def _ticket_to_assign(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> ServiceTicket:
    """The ticket, when the caller is its client's owner, a manager of its locale, or staff."""
    ticket = await access.get_for_write(
        session, ServiceTicket, ticket_id, principal, for_update=True
    )
    if not await actor_kinds(session, principal, ticket) & ASSIGNERS:
        raise Forbidden(
            gettext("Only the client's owner or a manager of the locale assign technicians.")
        )
    return ticket


def _instant(ticket: ServiceTicket, at: datetime | None) -> datetime:
    return (at or ticket.planned_at or utcnow()).astimezone(UTC)


async def _reasons(
    session: AsyncSession, ticket: ServiceTicket, technicians: Sequence[User], at: datetime
) -> dict[uuid.UUID, list[Reason]]:
    """Why each technician cannot take the ticket at ``at`` (a fixed number of queries)."""
    ids = [t.id for t in technicians]
    working: set[uuid.UUID] = set()
    away: set[uuid.UUID] = set()
    if ids:
        shifts = select(TechnicianShift.technician_id, TechnicianShift.shift_type).where(
            TechnicianShift.technician_id.in_(ids),
            # Shifts last at most MAX_SHIFT: the bound lets the (technician, starts_at) index serve.
            TechnicianShift.starts_at > at - MAX_SHIFT,
            TechnicianShift.starts_at <= at,
            TechnicianShift.ends_at > at,
        )
        for technician_id, shift_type in (await session.execute(shifts)).all():
            (working if shift_type is ShiftType.working else away).add(technician_id)
    licensed: set[uuid.UUID] = set()
    expired: set[uuid.UUID] = set()
    cert_type = ticket.required_certification
    if cert_type and ids:
        # A licence is valid through its expiry date in the calendar of the ticket's locale
        # (read in the same statement as the licences).
        timezone = select(Locale.timezone).where(Locale.id == ticket.locale_id).scalar_subquery()
        certs = select(
            TechnicianCertification.technician_id, TechnicianCertification.expires_date, timezone
        ).where(
            TechnicianCertification.technician_id.in_(ids),
            TechnicianCertification.cert_type == cert_type,
        )
        for technician_id, expires, zone in (await session.execute(certs)).all():
            if licences.valid_on(expires, licences.licence_day(at, zone)):
                licensed.add(technician_id)
            else:
                expired.add(technician_id)
    result: dict[uuid.UUID, list[Reason]] = {}
    for technician in technicians:
        reasons: list[Reason] = []
        if not technician.is_active:
            reasons.append(Reason.inactive)
        if ticket.required_skill and ticket.required_skill not in (technician.skills or []):
            reasons.append(Reason.missing_skill)
        if technician.id not in working:
            reasons.append(Reason.no_shift)
        if technician.id in away:
            reasons.append(Reason.on_leave)
        if cert_type and technician.id not in licensed:
            reasons.append(
                Reason.licence_expired if technician.id in expired else Reason.licence_missing
            )
        result[technician.id] = reasons
    return result


async def _open_ticket_counts(
    session: AsyncSession, client_id: uuid.UUID, technician_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many unfinished tickets of the client each technician holds (one query)."""
    ids = list(technician_ids)
    if not ids:
        return {}
    stmt = (
        select(ServiceTicket.technician_id, func.count())
        .where(
            ServiceTicket.client_id == client_id,
            ServiceTicket.technician_id.in_(ids),
            ServiceTicket.status.not_in(CLOSED_STATES),
        )
        .group_by(ServiceTicket.technician_id)
    )
    return {tid: int(n) for tid, n in (await session.execute(stmt)).all() if tid is not None}


async def _assignee(
    session: AsyncSession,
    principal: Principal,
    ticket: ServiceTicket,
    technician_id: uuid.UUID,
    vendor_id: uuid.UUID | None,
) -> tuple[User, Vendor | None]:
    """The technician (and vendor) named in the body: 404 when the client cannot use them."""
    vendor: Vendor | None = None
    if vendor_id is not None:
        vendor = await access.get_scoped(session, Vendor, vendor_id, principal)
        if vendor.client_id not in (None, ticket.client_id):
            raise NotFound(gettext("vendor not found"))
        if not vendor.is_active:
            raise Unprocessable(
                gettext("This vendor is deactivated."),
                errors=[
                    field_error(
                        ("body", "vendor_id"), gettext("vendor inactive"), "vendor_inactive"
                    )
                ],
            )
        belongs = User.vendor_id == vendor.id
    else:
        belongs = User.client_id == ticket.client_id
    stmt = select(User).where(User.id == technician_id, belongs)
    technician = (await session.execute(stmt)).scalar_one_or_none()
    if technician is None:
        raise NotFound(gettext("technician not found"))
    if technician.role is not UserRole.technician:
        raise Unprocessable(
            gettext("This user is not a technician."),
            errors=[
                field_error(
                    ("body", "technician_id"), gettext("not a technician"), "not_a_technician"
                )
            ],
        )
    return technician, vendor


# --- assign --------------------------------------------------------------------------------------


async def assign(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: AssignmentCreate
) -> ServiceTicket:
    """Assign an eligible technician; an open ticket moves to assigned (with a history row)."""
    ticket = await _ticket_to_assign(session, principal, ticket_id)
    if ticket.status in FINAL_STATES:
        raise Conflict(
            gettext("A {status} ticket cannot be assigned.", status=ticket.status),
            code="ticket_closed",
        )
    technician, vendor = await _assignee(
        session, principal, ticket, data.technician_id, data.vendor_id
    )
    at = _instant(ticket, data.at)
    reasons = (await _reasons(session, ticket, [technician], at))[technician.id]
    if reasons:
        raise Unprocessable(
            gettext(
                "{name} cannot take this ticket at {at}: {reasons}.",
                name=technician.full_name,
                at=at.isoformat(),
                reasons="; ".join(gettext(REASON_TEXT[r]) for r in reasons),
            ),
            code="technician_not_eligible",
            reasons=[r.value for r in reasons],
            errors=[
                field_error(("body", "technician_id"), gettext(REASON_TEXT[r]), r.value)
                for r in reasons
            ],
        )
    now = utcnow()
    current = ticket.status
    if current is TicketStatus.open:
        # Claimed like a transition: a concurrent move of the ticket makes this a 409.
        claimed = await session.execute(
            update(ServiceTicket)
            .where(ServiceTicket.id == ticket.id, ServiceTicket.status == current)
            .values(status=TicketStatus.assigned, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(
                gettext("The ticket changed status meanwhile; reload it and try again."),
                code="status_changed",
            )
        ticket.status = TicketStatus.assigned
        session.add(
            TicketHistory(
                client_id=ticket.client_id,
                locale_id=ticket.locale_id,
                ticket_id=ticket.id,
                from_status=current,
                to_status=TicketStatus.assigned,
                actor_id=principal.user_id,
                comment=gettext(
                    "Assigned to {technician}",
                    await language_of_client(session, ticket.client_id),
                    technician=technician.full_name,
                ),
                created_at=now,
            )
        )
    ticket.technician_id = technician.id
    ticket.vendor_id = vendor.id if vendor is not None else None
    ticket.updated_at = now
    await session.flush()
    events.emit(
        session,
        "ticket.assigned",
        **ticket_event(ticket, actor_id=principal.user_id, from_status=current),
    )
    return ticket


# --- candidates ----------------------------------------------------------------------------------


async def candidates(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, at: datetime | None
) -> CandidateList:
    """The client's technicians and those of its private vendors, eligible and least busy first."""
    ticket = await _ticket_to_assign(session, principal, ticket_id)
    instant = _instant(ticket, at)
    private_vendors = select(Vendor.id).where(Vendor.client_id == ticket.client_id)
    stmt = select(User).where(
        User.role == UserRole.technician,
        or_(
            User.client_id == ticket.client_id,
            User.vendor_id.in_(private_vendors.scalar_subquery()),
        ),
    )
    technicians = list((await session.execute(stmt)).scalars())
    reasons = await _reasons(session, ticket, technicians, instant)
    counts = await _open_ticket_counts(session, ticket.client_id, (t.id for t in technicians))
    items = [
        CandidateRead(
            technician_id=t.id,
            full_name=t.full_name,
            vendor_id=t.vendor_id,
            eligible=not reasons[t.id],
            reasons=reasons[t.id],
            open_tickets=counts.get(t.id, 0),
        )
        for t in technicians
    ]
    items.sort(key=lambda c: (not c.eligible, c.open_tickets, c.full_name, str(c.technician_id)))
    return CandidateList(at=instant, items=items)
