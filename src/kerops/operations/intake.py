"""How a ticket comes in: raised by a person, by the system (a sensor rule, a maintenance plan) or
from a public scan report; numbered, on the client's default workflow, with SLA deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core import access
from kerops.core.enums import LocalRole, TicketPriority, TicketStatus
from kerops.core.errors import Forbidden, Unprocessable, field_error
from kerops.core.i18n import N_, gettext
from kerops.core.jobs import enqueue
from kerops.core.principal import Principal
from kerops.core.types import utcnow
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.events import service as events
from kerops.operations import sla, workflows
from kerops.operations.actors import locale_roles
from kerops.operations.models import ServiceTicket, TicketHistory
from kerops.operations.numbering import next_ticket_number
from kerops.operations.schemas import TicketCreate
from kerops.operations.ticket_events import ticket_event
from kerops.tenancy.models import LocalArea, Locale
from kerops.users.models import User

#: What a ticket may point at in its locale, by body field: (model, message, field message,
#: error code).
_IN_LOCALE: dict[str, tuple[type[LocalArea] | type[Asset], str, str, str]] = {
    "area_id": (
        LocalArea,
        N_("The area must belong to the ticket's locale."),
        N_("area of another locale"),
        "area_other_locale",
    ),
    "asset_id": (
        Asset,
        N_("The asset must be in the ticket's locale."),
        N_("asset of another locale"),
        "asset_other_locale",
    ),
}


async def check_in_locale(
    session: AsyncSession,
    principal: Principal,
    locale_id: uuid.UUID,
    field: str,
    object_id: uuid.UUID | None,
) -> None:
    """404 for an area or asset (``field``) the caller cannot see, 422 for one of another
    locale than the ticket's; nothing to check for None."""
    if object_id is None:
        return
    model, message, field_message, code = _IN_LOCALE[field]
    found = await access.get_scoped_row(session, model, object_id, principal)
    if found["locale_id"] != locale_id:
        raise Unprocessable(
            gettext(message),
            errors=[field_error(("body", field), gettext(field_message), code)],
        )


def _asset_contradictions(data: TicketCreate, asset: Any) -> list[dict[str, Any]]:
    """Errors of a given locale or area that is not the asset's."""
    errors: list[dict[str, Any]] = []
    if data.locale_id is not None and data.locale_id != asset["locale_id"]:
        errors.append(
            field_error(
                ("body", "locale_id"), gettext("not the asset's locale"), "asset_other_locale"
            )
        )
    if (
        data.area_id is not None
        and asset["area_id"] is not None
        and data.area_id != asset["area_id"]
    ):
        errors.append(
            field_error(("body", "area_id"), gettext("not the asset's area"), "asset_other_area")
        )
    return errors


async def create_ticket(
    session: AsyncSession, *, principal: Principal, data: TicketCreate, from_form: bool = True
) -> ServiceTicket:
    """Raise a ticket: numbered, on the client's default workflow, with SLA deadlines. A ticket
    on an asset takes the asset's locale and area unless given (a contradicting one is 422).
    Its custom fields are checked, the required ones asked for, when a person raises it from a
    form (``from_form``); a ticket the system raises for them takes none."""
    area_id = data.area_id
    if data.asset_id is not None:
        asset = await access.get_scoped_row(session, Asset, data.asset_id, principal)
        errors = _asset_contradictions(data, asset)
        if errors:
            raise Unprocessable(
                gettext("The ticket's locale and area must be those of its asset; see errors."),
                errors=errors,
            )
        locale_ref: uuid.UUID = asset["locale_id"]
        area_id = area_id or asset["area_id"]
    elif data.locale_id is not None:
        locale_ref = data.locale_id
    else:
        raise Unprocessable(
            gettext("A ticket needs a locale_id, or an asset_id whose locale it takes."),
            errors=[
                field_error(
                    ("body", "locale_id"),
                    gettext("required when no asset_id is given"),
                    "missing",
                )
            ],
        )
    locale = await access.get_scoped_row(session, Locale, locale_ref, principal)
    locale_id: uuid.UUID = locale["id"]
    if not (principal.is_staff or principal.reaches_every_locale("write")):
        roles = await locale_roles(session, principal, locale_id)
        if not roles & {LocalRole.manager, LocalRole.requester}:
            raise Forbidden(
                gettext("Only the locale's managers and requesters can raise tickets here.")
            )
    if data.area_id is not None:
        await check_in_locale(session, principal, locale_id, "area_id", data.area_id)
    values = await customfields.values_for_write(
        session,
        client_id=locale["client_id"],
        entity=FieldEntity.ticket,
        given=data.custom_fields if from_form else None,
        creating=from_form,
    )
    return await _open_ticket(
        session,
        client_id=locale["client_id"],
        locale_id=locale_id,
        priority=data.priority,
        actor_id=principal.user_id,
        title=data.title,
        description=data.description,
        area_id=area_id,
        asset_id=data.asset_id,
        requester_id=principal.user_id,
        required_skill=data.required_skill.value if data.required_skill else None,
        required_certification=data.required_certification,
        source="manual",
        planned_at=data.planned_at,
        custom_fields=values,
    )


async def _open_ticket(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    locale_id: uuid.UUID,
    priority: TicketPriority,
    actor_id: uuid.UUID | None,
    history_comment: str = "",
    technician: User | None = None,
    assignment_note: str = "",
    created_event: bool = True,
    sla_start: datetime | None = None,
    now: datetime | None = None,
    **columns: Any,
) -> ServiceTicket:
    """Insert a new ticket with ``columns``: numbered, on the client's default workflow, with
    its SLA deadlines (from ``sla_start``, default now), its history (and assignment), the
    ``ticket.created`` event and a diagnosis queued."""
    workflow = await workflows.ensure_default_workflow(session, client_id)
    now = now or utcnow()
    due = await sla.deadlines(session, client_id, locale_id, priority, sla_start or now)
    # The client's counter row stays locked until commit: take the number as late as possible.
    number = await next_ticket_number(session, client_id)
    ticket = ServiceTicket(
        client_id=client_id,
        locale_id=locale_id,
        number=number,
        workflow_id=workflow.id,
        priority=priority,
        technician_id=technician.id if technician else None,
        vendor_id=technician.vendor_id if technician else None,
        status=TicketStatus.assigned if technician else TicketStatus.open,
        **columns,
        **due.columns(),  # SLA: policy, clock, deadlines, warning instants, next check
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    moves: list[tuple[TicketStatus | None, TicketStatus, str]] = [
        (None, TicketStatus.open, history_comment)
    ]
    if technician is not None:
        moves.append((TicketStatus.open, TicketStatus.assigned, assignment_note[:5000]))
    session.add_all(
        TicketHistory(
            client_id=ticket.client_id,
            locale_id=ticket.locale_id,
            ticket_id=ticket.id,
            from_status=from_status,
            to_status=to_status,
            actor_id=actor_id,
            comment=comment,
            created_at=now,
        )
        for from_status, to_status, comment in moves
    )
    await session.flush()
    enqueue(session, "tickets.diagnose", ticket_id=str(ticket.id))  # diagnosis
    if created_event:
        events.emit(session, "ticket.created", **ticket_event(ticket, actor_id=actor_id))
    return ticket


async def raise_system_ticket(
    session: AsyncSession,
    *,
    asset: Asset,
    source: str,
    title: str,
    description: str,
    priority: TicketPriority,
    history_comment: str = "",
    reporter_name: str | None = None,
    reporter_contact: str | None = None,
    required_skill: str | None = None,
    maintenance_plan_id: uuid.UUID | None = None,
    planned_at: datetime | None = None,
    sla_start: datetime | None = None,
    technician: User | None = None,
    assignment_note: str = "",
    created_event: bool = True,
    now: datetime | None = None,
) -> ServiceTicket:
    """Raise a ticket on behalf of the system (a scan report, a sensor rule, a maintenance plan):
    numbered, on the client's default workflow, with SLA deadlines (from ``sla_start``, default
    now), its history, optionally assigned to ``technician``, with the ``ticket.created`` event
    and a diagnosis queued — like a ticket raised by a person, without a requester."""
    return await _open_ticket(
        session,
        client_id=asset.client_id,
        locale_id=asset.locale_id,
        priority=priority,
        actor_id=None,
        history_comment=history_comment,
        technician=technician,
        assignment_note=assignment_note,
        created_event=created_event,
        sla_start=sla_start,
        now=now,
        title=title[:200],
        description=description,
        area_id=asset.area_id,
        asset_id=asset.id,
        requester_id=None,
        maintenance_plan_id=maintenance_plan_id,
        required_skill=required_skill,
        source=source,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
        planned_at=planned_at,
    )


async def create_scan_report_ticket(
    session: AsyncSession,
    *,
    asset: Asset,
    reporter_name: str | None,
    reporter_contact: str | None,
    description: str,
    language: str | None = None,
) -> ServiceTicket:
    """Raise a ticket from a public scan report (no requester), like any other. Its title is
    stored in ``language`` (the reporter's page; the request's language by default)."""
    return await raise_system_ticket(
        session,
        asset=asset,
        source="scan",
        title=gettext("Fault reported at {asset}", language, asset=asset.name),
        description=description,
        priority=TicketPriority.medium,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
    )
