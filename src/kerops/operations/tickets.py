"""Rules of service tickets: numbering, SLA deadlines, the transition engine, history, comments."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.automation import completion as plan_completion  # PM: plan tickets' completion
from kerops.core import access
from kerops.core.enums import LocalRole, TicketPriority, TicketStatus, UserRole
from kerops.core.errors import Conflict, Forbidden, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.jobs import enqueue
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.reads import Reader, StatementRunner
from kerops.core.types import utcnow
from kerops.events import service as events
from kerops.notifications.payloads import ticket_event
from kerops.operations import sla, workflows
from kerops.operations.models import (
    ServiceTicket,
    TicketAttachment,
    TicketComment,
    TicketCounter,
    TicketHistory,
    TicketTask,
    WorkflowStep,
)
from kerops.operations.schemas import StepRole, TicketCreate, TicketUpdate, TransitionCreate
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.users.models import User
from kerops.workforce.models import TechnicianCertification

#: States in which a ticket no longer counts as overdue.
CLOSED_STATES = (TicketStatus.resolved, TicketStatus.completed, TicketStatus.cancelled)
#: The first move out of these into ``RESPONSE_STATES`` stamps ``responded_at``.
WAITING_STATES = (TicketStatus.open, TicketStatus.assigned)
RESPONSE_STATES = (TicketStatus.accepted, TicketStatus.en_route, TicketStatus.in_progress)

PRIORITY_RANK = {
    TicketPriority.low.value: 1,
    TicketPriority.medium.value: 2,
    TicketPriority.high.value: 3,
    TicketPriority.critical.value: 4,
}
TICKET_SORTS = {
    "created_at": ServiceTicket.created_at,
    "number": ServiceTicket.number,
    "sla_resolution_due_at": ServiceTicket.sla_resolution_due_at,
}
ALL_TICKET_SORTS = sorted([*TICKET_SORTS, "priority"])
HISTORY_SORTS = {"created_at": TicketHistory.created_at}
COMMENT_SORTS = {"created_at": TicketComment.created_at}

_NUMBER_QUERY = re.compile(r"^(?:[Tt]-?)?0*(\d{1,9})$")


# --- numbering -----------------------------------------------------------------------------------


#: The counter's increment (every new ticket): built once.
_BUMP = (
    update(TicketCounter)
    .where(TicketCounter.client_id == bindparam("counter_of"))
    .values(last_number=TicketCounter.last_number + 1)
    .returning(TicketCounter.last_number)
    .execution_options(synchronize_session=False)
)


async def next_ticket_number(session: AsyncSession, client_id: uuid.UUID) -> int:
    """Hand out the client's next ticket number (atomic: never twice, also under concurrency)."""
    for _ in range(3):
        number = (await session.execute(_BUMP, {"counter_of": client_id})).scalar_one_or_none()
        if number is not None:
            return int(number)
        try:
            # The client's first ticket: create the counter; a concurrent first ticket may win.
            async with session.begin_nested():
                await session.execute(
                    insert(TicketCounter).values(client_id=client_id, last_number=1)
                )
            return 1
        except IntegrityError:
            continue
    raise Conflict("Could not number the ticket; try again.", code="numbering_conflict")


# --- who is calling, as seen from a ticket -------------------------------------------------------


#: The caller's roles in one locale: built once.
_LOCALE_ROLES = select(LocalMember.role).where(
    LocalMember.user_id == bindparam("user_id"), LocalMember.locale_id == bindparam("locale_id")
)


async def _locale_roles(
    session: AsyncSession, principal: Principal, locale_id: uuid.UUID
) -> set[LocalRole]:
    if principal.role is not UserRole.client_member:
        return set()
    params = {"user_id": principal.user_id, "locale_id": locale_id}
    return set((await session.execute(_LOCALE_ROLES, params)).scalars())


async def actor_kinds(
    session: AsyncSession, principal: Principal, ticket: ServiceTicket
) -> set[StepRole]:
    """Every capacity in which the principal acts on this ticket (a workflow step names them)."""
    kinds: set[StepRole] = set()
    if principal.is_staff:
        kinds.add(StepRole.staff)
    if principal.is_client_owner and principal.client_id == ticket.client_id:
        kinds.add(StepRole.owner)
    if principal.client_id == ticket.client_id and LocalRole.manager in await _locale_roles(
        session, principal, ticket.locale_id
    ):
        kinds.add(StepRole.manager)
    if ticket.requester_id is not None and ticket.requester_id == principal.user_id:
        kinds.add(StepRole.requester)
    if ticket.technician_id is not None and ticket.technician_id == principal.user_id:
        kinds.add(StepRole.technician)
    if (
        principal.role is UserRole.vendor_admin
        and principal.vendor_id is not None
        and ticket.vendor_id == principal.vendor_id
    ):
        kinds.add(StepRole.vendor_admin)
    return kinds


# --- create, read, change ------------------------------------------------------------------------


#: What a ticket may point at in its locale, by body field: (model, message, error code).
_IN_LOCALE: dict[str, tuple[type[LocalArea] | type[Asset], str, str]] = {
    "area_id": (LocalArea, "The area must belong to the ticket's locale.", "area_other_locale"),
    "asset_id": (Asset, "The asset must be in the ticket's locale.", "asset_other_locale"),
}


async def _check_in_locale(
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
    model, message, code = _IN_LOCALE[field]
    found = await access.get_scoped_row(session, model, object_id, principal)
    if found["locale_id"] != locale_id:
        kind = field.removesuffix("_id")
        raise Unprocessable(
            message, errors=[field_error(("body", field), f"{kind} of another locale", code)]
        )


async def create_ticket(
    session: AsyncSession, *, principal: Principal, data: TicketCreate
) -> ServiceTicket:
    """Raise a ticket: numbered, on the client's default workflow, with SLA deadlines."""
    locale = await access.get_scoped_row(session, Locale, data.locale_id, principal)
    locale_id: uuid.UUID = locale["id"]
    if not (principal.is_staff or principal.is_client_owner):
        roles = await _locale_roles(session, principal, locale_id)
        if not roles & {LocalRole.manager, LocalRole.requester}:
            raise Forbidden("Only the locale's managers and requesters can raise tickets here.")
    await _check_in_locale(session, principal, locale_id, "area_id", data.area_id)
    await _check_in_locale(session, principal, locale_id, "asset_id", data.asset_id)
    return await _open_ticket(
        session,
        client_id=locale["client_id"],
        locale_id=locale_id,
        priority=data.priority,
        actor_id=principal.user_id,
        title=data.title,
        description=data.description,
        area_id=data.area_id,
        asset_id=data.asset_id,
        requester_id=principal.user_id,
        required_skill=data.required_skill.value if data.required_skill else None,
        required_certification=data.required_certification,
        source="manual",
        planned_at=data.planned_at,
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
    reporter_name: str,
    reporter_contact: str,
    description: str,
) -> ServiceTicket:
    """Raise a ticket from a public scan report (no requester), like any other."""
    return await raise_system_ticket(
        session,
        asset=asset,
        source="scan",
        title=f"Fault reported at {asset.name}",
        description=description,
        priority=TicketPriority.medium,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
    )


def _number_of(q: str) -> int | None:
    match = _NUMBER_QUERY.match(q.strip())
    return int(match.group(1)) if match else None


async def list_tickets(
    reader: Reader,
    *,
    params: PageParams,
    status: Sequence[TicketStatus] | None = None,
    priority: TicketPriority | None = None,
    locale_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    requester_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    overdue: bool | None = None,
    sla_breached: bool | None = None,
    sla_warned: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: str | None = None,
) -> tuple[Sequence[dict[str, Any]], str | None]:
    """One page of the tickets the caller can see, filtered and sorted: their columns by name
    (``TicketRead``'s fields), read without a session or ORM objects (a lean read)."""
    stmt = access.scoped_rows(ServiceTicket, reader.principal)
    if status:
        stmt = stmt.where(ServiceTicket.status.in_(list(dict.fromkeys(status))))
    if priority is not None:
        stmt = stmt.where(ServiceTicket.priority == priority)
    for column, value in (
        (ServiceTicket.locale_id, locale_id),
        (ServiceTicket.asset_id, asset_id),
        (ServiceTicket.technician_id, technician_id),
        (ServiceTicket.requester_id, requester_id),
        (ServiceTicket.vendor_id, vendor_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if overdue is not None:
        late = and_(
            ServiceTicket.sla_resolution_due_at < utcnow(),
            ServiceTicket.status.not_in(CLOSED_STATES),
        )
        stmt = stmt.where(late if overdue else ~late)
    if sla_breached is not None:  # SLA: either target breached
        breached = or_(ServiceTicket.sla_response_breached, ServiceTicket.sla_resolution_breached)
        stmt = stmt.where(breached if sla_breached else ~breached)
    if sla_warned is not None:  # SLA: either target warned
        warned = or_(
            ServiceTicket.sla_response_warned_at.is_not(None),
            ServiceTicket.sla_resolution_warned_at.is_not(None),
        )
        stmt = stmt.where(warned if sla_warned else ~warned)
    if created_from is not None:
        stmt = stmt.where(ServiceTicket.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(ServiceTicket.created_at < created_to)
    if q:
        search = text_search(q, ServiceTicket.title, ServiceTicket.description)
        number = _number_of(q)
        stmt = stmt.where(or_(search, ServiceTicket.number == number) if number else search)
    if (params.sort or "").lstrip("-") == "priority":
        return await _paginate_by_priority(reader.runner, stmt, params)
    if (params.sort or "-created_at").lstrip("-") not in TICKET_SORTS:
        raise Unprocessable(
            f"Cannot sort by '{(params.sort or '').lstrip('-')}'. "
            f"Allowed: {', '.join(ALL_TICKET_SORTS)}.",
            errors=[field_error(("query", "sort"), "unknown sort field", "sort_invalid")],
        )
    return await paginate(
        reader.runner,
        stmt,
        params,
        sort_fields=TICKET_SORTS,
        id_column=ServiceTicket.id,
        default_sort="-created_at",
    )


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        "The cursor is not valid for this list and sort.",
        errors=[field_error(("query", "cursor"), "invalid cursor", "cursor_invalid")],
    )


async def _paginate_by_priority(
    runner: StatementRunner, stmt: Select[Any], params: PageParams
) -> tuple[Sequence[dict[str, Any]], str | None]:
    """Keyset pages ordered by severity (low < medium < high < critical), then id; each row's
    columns as a dict by name (as ``paginate`` through a runner)."""
    assert params.sort is not None
    descending = params.sort.startswith("-")
    rank = case(PRIORITY_RANK, value=ServiceTicket.priority, else_=0)
    if params.cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(params.cursor.encode() + b"=="))
            if raw.get("s") != params.sort or not isinstance(raw.get("v"), int):
                raise _bad_cursor()
            last_id, last_rank = uuid.UUID(raw["i"]), int(raw["v"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise _bad_cursor() from exc
        if descending:
            stmt = stmt.where(
                or_(rank < last_rank, and_(rank == last_rank, ServiceTicket.id < last_id))
            )
        else:
            stmt = stmt.where(
                or_(rank > last_rank, and_(rank == last_rank, ServiceTicket.id > last_id))
            )
    order = (rank.desc(), ServiceTicket.id.desc()) if descending else (rank.asc(), ServiceTicket.id)
    rows = list(await runner.all(stmt.order_by(*order).limit(params.limit + 1)))
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        payload = {"s": params.sort, "i": str(last.id), "v": PRIORITY_RANK[last.priority.value]}
        next_cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return [row._asdict() for row in rows], next_cursor


async def get_ticket(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID
) -> ServiceTicket:
    """One ticket the caller can see."""
    return await access.get_scoped(session, ServiceTicket, ticket_id, principal)


async def update_ticket(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: TicketUpdate
) -> ServiceTicket:
    """Change a ticket's details (the client's owner or a manager of its locale; not status)."""
    ticket = await access.get_for_write(
        session, ServiceTicket, ticket_id, principal, for_update=True
    )
    kinds = await actor_kinds(session, principal, ticket)
    if not kinds & {StepRole.staff, StepRole.owner, StepRole.manager}:
        raise Forbidden("Only the client's owner or a manager of the locale can change a ticket.")
    changes = data.model_dump(exclude_unset=True)
    for field in ("area_id", "asset_id"):
        await _check_in_locale(session, principal, ticket.locale_id, field, changes.get(field))
    for key, value in changes.items():
        setattr(ticket, key, value)
    if "priority" in changes:
        await sla.reschedule(session, ticket)  # SLA: deadlines from created_at, plus pauses
    await session.flush()
    await access.ensure_still_in_scope(session, ticket, principal)
    return ticket


# --- transitions ---------------------------------------------------------------------------------


async def _requirement_errors(
    session: AsyncSession, ticket: ServiceTicket, step: WorkflowStep, comment: str
) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    if step.requires_comment and not comment:
        errors.append(
            field_error(("body", "comment"), "this move requires a comment", "comment_required")
        )
    if step.requires_all_tasks_done:
        open_tasks = (
            await session.execute(
                select(TicketTask.label)
                .where(TicketTask.ticket_id == ticket.id, TicketTask.is_done.is_(False))
                .order_by(TicketTask.position, TicketTask.id)
            )
        ).scalars()
        labels = list(open_tasks)
        if labels:
            errors.append(
                field_error(
                    ("body", "to_status"),
                    "tasks still open: " + "; ".join(labels),
                    "tasks_not_done",
                )
            )
    for needed, kind in ((step.requires_photo, "photo"), (step.requires_signature, "signature")):
        if needed:
            has = exists().where(
                TicketAttachment.ticket_id == ticket.id, TicketAttachment.kind == kind
            )
            if not (await session.execute(select(has))).scalar():
                errors.append(
                    field_error(
                        ("body", "to_status"),
                        f"this move requires a {kind} attachment",
                        f"{kind}_required",
                    )
                )
    if step.requires_valid_licence:
        problem = await _licence_problem(session, ticket, utcnow().date())
        if problem:
            errors.append(field_error(("body", "to_status"), problem, "licence_required"))
    return errors


async def _licence_problem(session: AsyncSession, ticket: ServiceTicket, today: date) -> str | None:
    needed = ticket.required_certification or ticket.required_skill
    if needed is None:
        return None
    if ticket.technician_id is None:
        return f"this move requires an assigned technician holding a valid '{needed}' licence"
    valid = exists().where(
        TechnicianCertification.technician_id == ticket.technician_id,
        TechnicianCertification.cert_type == needed,
        or_(
            TechnicianCertification.expires_date.is_(None),
            TechnicianCertification.expires_date >= today,
        ),
    )
    if (await session.execute(select(valid))).scalar():
        return None
    return f"the assigned technician holds no valid '{needed}' licence"


async def transition(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: TransitionCreate
) -> ServiceTicket:
    """Move a ticket along its workflow: the step must exist, the caller take it, its needs met.

    The ticket's row is locked as it is read (PostgreSQL; SQLite writers are serialised by
    ``BEGIN IMMEDIATE``): a concurrent move waits, then reads the status this one set, and is
    judged from there (one UPDATE, the ORM's, which the audit log records)."""
    ticket = await access.get_scoped(session, ServiceTicket, ticket_id, principal, for_update=True)
    current = ticket.status
    if ticket.workflow_id is not None:
        workflow_id = ticket.workflow_id
    else:
        workflow_id = (await workflows.ensure_default_workflow(session, ticket.client_id)).id
    steps = await workflows.steps_from(session, workflow_id, current)
    kinds = {k.value for k in await actor_kinds(session, principal, ticket)}
    step = next((s for s in steps if s.to_status == data.to_status), None)
    if step is None:
        allowed = list(
            dict.fromkeys(s.to_status.value for s in steps if kinds & set(s.allowed_roles))
        )
        raise Conflict(
            f"A ticket cannot move from {current} to {data.to_status} in its workflow.",
            code="transition_not_allowed",
            allowed=allowed,
        )
    if not kinds & set(step.allowed_roles):
        raise Forbidden(
            f"You may not move this ticket from {current} to {data.to_status}.",
            code="transition_forbidden",
        )
    comment = data.comment or ""
    errors = await _requirement_errors(session, ticket, step, comment)
    if errors:
        raise Unprocessable(
            "This move's requirements are not met; see errors.",
            code="transition_requirements",
            errors=errors,
        )
    now = utcnow()
    ticket.status = data.to_status
    ticket.updated_at = now
    if (
        ticket.responded_at is None
        and current in WAITING_STATES
        and data.to_status in RESPONSE_STATES
    ):
        ticket.responded_at = now
    if data.to_status is TicketStatus.resolved:
        ticket.resolved_at = now
    elif data.to_status is TicketStatus.completed:
        ticket.completed_at = now
    elif data.to_status is TicketStatus.cancelled:
        ticket.cancelled_at = now
    await plan_completion.ticket_moved(session, ticket)  # PM: a plan ticket completed/cancelled
    await sla.record_status_change(session, ticket, now)  # SLA: pauses, next check
    session.add(
        TicketHistory(
            client_id=ticket.client_id,
            locale_id=ticket.locale_id,
            ticket_id=ticket.id,
            from_status=current,
            to_status=data.to_status,
            actor_id=principal.user_id,
            comment=comment,
            created_at=now,
        )
    )
    if comment:
        session.add(
            TicketComment(
                client_id=ticket.client_id,
                locale_id=ticket.locale_id,
                ticket_id=ticket.id,
                author_id=principal.user_id,
                body=comment,
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()
    events.emit(
        session,
        "ticket.status_changed",
        **ticket_event(ticket, actor_id=principal.user_id, from_status=current),
    )
    return ticket


async def list_history(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[TicketHistory], str | None]:
    """One page of a ticket's status moves, oldest first."""
    await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    stmt = access.scoped(select(TicketHistory), TicketHistory, principal).where(
        TicketHistory.ticket_id == ticket_id
    )
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=HISTORY_SORTS,
        id_column=TicketHistory.id,
        default_sort="created_at",
    )


# --- comments ------------------------------------------------------------------------------------


async def add_comment(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, body: str
) -> TicketComment:
    """Comment on a ticket (anyone who can read it)."""
    ticket = await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    comment = TicketComment(
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        author_id=principal.user_id,
        body=body,
    )
    session.add(comment)
    await session.flush()
    return comment


async def list_comments(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[TicketComment], str | None]:
    """One page of a ticket's comments, oldest first."""
    await access.get_scoped(session, ServiceTicket, ticket_id, principal)
    stmt = access.scoped(select(TicketComment), TicketComment, principal).where(
        TicketComment.ticket_id == ticket_id
    )
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=COMMENT_SORTS,
        id_column=TicketComment.id,
        default_sort="created_at",
    )
