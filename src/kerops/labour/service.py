"""Rules of work logs (a technician's time on a ticket) and the labour rates they are costed at.

Who logs: a technician logs their own time on the tickets assigned to them; whoever else may
change a ticket (its client's owner and admins, a manager of its locale or client-wide, its
vendor's admin) logs for anyone working on the client: the client's technicians, those of its
private vendors, the ticket's technician and its vendor's people (a vendor admin only their
own people). A log is a manual entry (a start and an end, or a start and minutes) or a
running timer (at most one per technician, in all tickets). A technician's logs never overlap.

Edits: a technician changes (or deletes) their own logs while they run and within 24 hours of
their end, and enters none that ended longer ago; managers change any log at any time.

Cost: the rate of a log is the technician's own rate for its category, else their rate for
every category, else their vendor's rate card line for the category, else for every category,
else 0 (in the ticket's currency). It is frozen on the log (``hourly_rate_minor``,
``currency``); a changed category takes the rate again. ``cost_minor = (minutes * rate + 30)
// 60``: minutes * rate / 60 rounded half up, integers only. The ticket's
``labour_cost_minor`` is the sum of its logs' costs, written in the transaction that changes
a log.

Concurrency: every write locks the ticket's row, then the technician's (``FOR UPDATE`` /
``FOR NO KEY UPDATE`` on PostgreSQL; SQLite serialises writers), always in that order, so the
overlap and "one running" checks and the ticket's sum cannot be raced.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import TicketStatus, UserRole, WorkLogCategory
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import utcnow, uuid7
from kerops.events import service as events
from kerops.labour.models import LabourRate, TicketWorkLog
from kerops.labour.schemas import (
    RateCreate,
    RateUpdate,
    TimerStart,
    TimerStop,
    WorkLogCreate,
    WorkLogUpdate,
    span_problem,
)
from kerops.operations.models import ServiceTicket
from kerops.users.models import User, Vendor

LOG_SORTS = {"started_at": TicketWorkLog.started_at, "created_at": TicketWorkLog.created_at}
RATE_SORTS = {"created_at": LabourRate.created_at}
#: A ticket in one of these states starts no timer.
CLOSED_STATES = (TicketStatus.completed, TicketStatus.cancelled)
#: How long after a log's end its technician may still change it.
EDIT_WINDOW = timedelta(hours=24)
#: How far ahead of the server's clock an entered end may be (a phone's clock drifts).
CLOCK_SKEW = timedelta(minutes=5)


# --- arithmetic ----------------------------------------------------------------------------------


def minutes_between(started_at: datetime, ended_at: datetime) -> int:
    """Whole minutes from ``started_at`` to ``ended_at``, half a minute and more counting as
    one."""
    seconds = (ended_at - started_at) // timedelta(seconds=1)
    return (seconds + 30) // 60


def cost_of(minutes: int, hourly_rate_minor: int) -> int:
    """``minutes * rate / 60`` rounded half up, in integers (never through a float)."""
    return (minutes * hourly_rate_minor + 30) // 60


# --- who and what --------------------------------------------------------------------------------


def _is_technician(principal: Principal) -> bool:
    return principal.role is UserRole.technician


def _not_a_technician() -> Unprocessable:
    msg = gettext("not a technician")
    return Unprocessable(
        gettext("This user is not a technician."),
        code="not_a_technician",
        errors=[field_error(("body", "technician_id"), msg, "not_a_technician")],
    )


async def _ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> ServiceTicket:
    """Lock a ticket whose logs the caller changes (404 out of reach, 403 read only)."""
    return await access.get_for_write(session, ServiceTicket, ticket_id, principal, for_update=True)


def _working_on(ticket: ServiceTicket) -> Any:
    """The people working on the ticket's client: its technicians, those of its private
    vendors, the ticket's technician and its vendor's people."""
    private_vendors = select(Vendor.id).where(Vendor.client_id == ticket.client_id)
    ways = [
        User.client_id == ticket.client_id,
        User.vendor_id.in_(private_vendors.scalar_subquery()),
    ]
    if ticket.technician_id is not None:
        ways.append(User.id == ticket.technician_id)
    if ticket.vendor_id is not None:
        ways.append(User.vendor_id == ticket.vendor_id)
    return or_(*ways)


async def _technician(
    session: AsyncSession,
    principal: Principal,
    ticket: ServiceTicket,
    technician_id: uuid.UUID | None,
) -> User:
    """Lock and load the technician a log is for: the caller (a technician may name no one
    else: 403 ``work_log_other_technician``), or, for a manager, anyone working on the client
    (404 otherwise; 422 ``not_a_technician`` for another role). The row lock serialises the
    writes of one technician's logs."""
    if technician_id is None or technician_id == principal.user_id:
        if not _is_technician(principal):
            raise _not_a_technician()
        stmt = select(User).where(User.id == principal.user_id)
    elif _is_technician(principal):
        raise Forbidden(
            gettext("A technician logs only their own time."), code="work_log_other_technician"
        )
    else:
        stmt = select(User).where(User.id == technician_id, _working_on(ticket))
        if principal.role is UserRole.vendor_admin:
            stmt = stmt.where(User.vendor_id == principal.vendor_id)
    user = (await session.execute(stmt.with_for_update(key_share=True))).scalar_one_or_none()
    if user is None:
        raise NotFound(gettext("technician not found"))
    if user.role is not UserRole.technician:
        raise _not_a_technician()
    return user


async def _lock_technician(session: AsyncSession, technician_id: uuid.UUID) -> None:
    """Lock the technician of an existing log (the writes of their logs queue on it)."""
    stmt = select(User.id).where(User.id == technician_id).with_for_update(key_share=True)
    await session.execute(stmt)


def _rate_lines(client_id: uuid.UUID, technician: User, category: WorkLogCategory) -> Any:
    holder = LabourRate.technician_id == technician.id
    if technician.vendor_id is not None:
        card = and_(
            LabourRate.technician_id.is_(None), LabourRate.vendor_id == technician.vendor_id
        )
        holder = or_(holder, card)
    stmt: Any = select(
        LabourRate.technician_id,
        LabourRate.category,
        LabourRate.hourly_rate_minor,
        LabourRate.currency,
    ).where(
        LabourRate.client_id == client_id,
        holder,
        or_(LabourRate.category == category, LabourRate.category.is_(None)),
    )
    return stmt


async def rate_for(
    session: AsyncSession, *, ticket: ServiceTicket, technician: User, category: WorkLogCategory
) -> tuple[int, str]:
    """The hourly rate of the technician's time on the ticket, in one query: their own line
    of the category, their own for every category, their vendor's of the category, their
    vendor's for every category, else 0; in its currency, which must be the ticket's (409
    ``labour_rate_currency``)."""
    stmt = _rate_lines(ticket.client_id, technician, category)
    rows = (await session.execute(stmt.order_by(LabourRate.created_at, LabourRate.id))).all()
    if not rows:
        return 0, ticket.currency

    def rank(row: Any) -> int:
        return (0 if row.technician_id is not None else 2) + (0 if row.category else 1)

    best = min(rows, key=rank)
    if best.currency != ticket.currency:
        raise Conflict(
            gettext(
                "The technician's rate is in {rate_currency} and the ticket in "
                "{ticket_currency}; fix the rate or the ticket's currency.",
                rate_currency=best.currency,
                ticket_currency=ticket.currency,
            ),
            code="labour_rate_currency",
        )
    return int(best.hourly_rate_minor), str(best.currency)


async def _ensure_no_overlap(
    session: AsyncSession,
    *,
    technician_id: uuid.UUID,
    started_at: datetime,
    ended_at: datetime | None,
    exclude_id: uuid.UUID | None = None,
) -> None:
    """Refuse a span (``ended_at`` None: running from ``started_at`` on) that overlaps another
    log of the technician (a running one lasts until now and after; touching ends are fine)."""
    stmt = select(TicketWorkLog.id, TicketWorkLog.ticket_id).where(
        TicketWorkLog.technician_id == technician_id,
        or_(TicketWorkLog.ended_at.is_(None), TicketWorkLog.ended_at > started_at),
    )
    if ended_at is not None:
        stmt = stmt.where(TicketWorkLog.started_at < ended_at)
    if exclude_id is not None:
        stmt = stmt.where(TicketWorkLog.id != exclude_id)
    other = (await session.execute(stmt.limit(1))).first()
    if other is not None:
        raise _overlap(other.id, other.ticket_id)


def _overlap(log_id: uuid.UUID, ticket_id: uuid.UUID) -> Conflict:
    return Conflict(
        gettext("This overlaps another work log of the technician ({id}).", id=log_id),
        code="work_log_overlap",
        overlapping_work_log_id=str(log_id),
        overlapping_ticket_id=str(ticket_id),
    )


async def _running(session: AsyncSession, technician_id: uuid.UUID) -> TicketWorkLog | None:
    stmt = select(TicketWorkLog).where(
        TicketWorkLog.technician_id == technician_id, TicketWorkLog.ended_at.is_(None)
    )
    found: TicketWorkLog | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


def _check_end(principal: Principal, ended_at: datetime, now: datetime, field: str) -> None:
    """An end is not in the future; a technician enters none older than the edit window."""
    if ended_at > now + CLOCK_SKEW:
        msg = gettext("a work log cannot end in the future")
        raise Unprocessable(
            msg, code="work_log_in_future", errors=[field_error(("body", field), msg)]
        )
    if _is_technician(principal) and now - ended_at > EDIT_WINDOW:
        raise Forbidden(
            gettext("A technician changes their time only within 24 hours; ask a manager."),
            code="work_log_edit_window",
        )


async def _set_labour_cost(
    session: AsyncSession, ticket: ServiceTicket, log: TicketWorkLog | None, *, without: uuid.UUID
) -> None:
    """Set the ticket's labour cost to the sum of its logs: the others' (read before this
    change is flushed, so everything is written in one flush) plus ``log``'s."""
    with session.no_autoflush:
        others = select(func.coalesce(func.sum(TicketWorkLog.cost_minor), 0)).where(
            TicketWorkLog.ticket_id == ticket.id, TicketWorkLog.id != without
        )
        total = int((await session.execute(others)).scalar_one())
    total += log.cost_minor if log is not None else 0
    if ticket.labour_cost_minor != total:
        ticket.labour_cost_minor = total


def _event(session: AsyncSession, kind: str, log: TicketWorkLog, actor_id: uuid.UUID) -> None:
    """``work_log.<kind>`` with what analytics needs of the log."""
    payload = {
        "ticket_id": str(log.ticket_id),
        "technician_id": str(log.technician_id),
        "category": str(log.category),
        "billable": log.billable,
        "started_at": log.started_at.isoformat(),
        "ended_at": log.ended_at.isoformat() if log.ended_at else None,
        "minutes": log.minutes,
        "hourly_rate_minor": log.hourly_rate_minor,
        "cost_minor": log.cost_minor,
        "currency": log.currency,
        "actor_id": str(actor_id),
    }
    events.emit(
        session,
        f"work_log.{kind}",
        client_id=log.client_id,
        subject_type="work_log",
        subject_id=log.id,
        locale_id=log.locale_id,
        vendor_id=log.vendor_id,
        payload=payload,
    )


def _close(log: TicketWorkLog, ended_at: datetime) -> None:
    log.ended_at = ended_at
    log.minutes = minutes_between(log.started_at, ended_at)
    log.cost_minor = cost_of(log.minutes, log.hourly_rate_minor)


# --- logs ----------------------------------------------------------------------------------------


async def create_log(
    session: AsyncSession, *, principal: Principal, ticket_id: uuid.UUID, data: WorkLogCreate
) -> TicketWorkLog:
    """Enter time spent on a ticket (no overlap with the technician's other logs)."""
    ticket = await _ticket(session, principal, ticket_id)
    technician = await _technician(session, principal, ticket, data.technician_id)
    if data.ended_at is not None:
        ended_at = data.ended_at
    else:
        assert data.minutes is not None
        ended_at = data.started_at + timedelta(minutes=data.minutes)
    _check_end(principal, ended_at, utcnow(), "ended_at" if data.ended_at else "minutes")
    await _ensure_no_overlap(
        session, technician_id=technician.id, started_at=data.started_at, ended_at=ended_at
    )
    rate, currency = await rate_for(
        session, ticket=ticket, technician=technician, category=data.category
    )
    log = TicketWorkLog(
        id=uuid7(),
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        technician_id=technician.id,
        vendor_id=technician.vendor_id,
        category=data.category,
        started_at=data.started_at,
        hourly_rate_minor=rate,
        currency=currency,
        billable=data.billable,
        notes=data.notes,
        created_by_id=principal.user_id,
    )
    _close(log, ended_at)
    session.add(log)
    await _set_labour_cost(session, ticket, log, without=log.id)
    _event(session, "created", log, principal.user_id)
    await session.flush()
    return log


async def start_timer(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: TimerStart,
) -> TicketWorkLog:
    """Start a technician's timer on an open ticket now: 409 ``ticket_closed`` on a completed
    or cancelled one, ``work_log_running`` while another of theirs runs (on any ticket)."""
    ticket = await _ticket(session, principal, ticket_id)
    if ticket.status in CLOSED_STATES:
        raise Conflict(
            gettext("The ticket is {status}; no timer starts on it.", status=ticket.status),
            code="ticket_closed",
        )
    technician = await _technician(session, principal, ticket, data.technician_id)
    now = utcnow()
    # One query: a running timer of theirs, else a log of theirs that ends after now.
    ahead = select(TicketWorkLog.id, TicketWorkLog.ticket_id, TicketWorkLog.ended_at).where(
        TicketWorkLog.technician_id == technician.id,
        or_(TicketWorkLog.ended_at.is_(None), TicketWorkLog.ended_at > now),
    )
    running_first = TicketWorkLog.ended_at.is_not(None)
    found = (await session.execute(ahead.order_by(running_first).limit(1))).first()
    if found is not None and found.ended_at is None:
        raise Conflict(
            gettext("The technician's timer already runs (work log {id}).", id=found.id),
            code="work_log_running",
            running_work_log_id=str(found.id),
            running_ticket_id=str(found.ticket_id),
        )
    if found is not None:
        raise _overlap(found.id, found.ticket_id)
    rate, currency = await rate_for(
        session, ticket=ticket, technician=technician, category=data.category
    )
    log = TicketWorkLog(
        id=uuid7(),
        client_id=ticket.client_id,
        locale_id=ticket.locale_id,
        ticket_id=ticket.id,
        technician_id=technician.id,
        vendor_id=technician.vendor_id,
        category=data.category,
        started_at=now,
        ended_at=None,
        minutes=None,
        hourly_rate_minor=rate,
        currency=currency,
        cost_minor=0,
        billable=data.billable,
        notes=data.notes,
        created_by_id=principal.user_id,
    )
    session.add(log)
    _event(session, "created", log, principal.user_id)
    await session.flush()
    return log


async def stop_timer(
    session: AsyncSession,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: TimerStop,
) -> TicketWorkLog:
    """Stop a technician's timer on this ticket now (409 ``work_log_not_running`` when none
    runs here); its minutes and cost are set and added to the ticket's labour cost. A timer
    stops on a ticket closed meanwhile too."""
    ticket = await _ticket(session, principal, ticket_id)
    technician = await _technician(session, principal, ticket, data.technician_id)
    log = await _running(session, technician.id)
    if log is None or log.ticket_id != ticket.id:
        raise Conflict(
            gettext("The technician has no timer running on this ticket."),
            code="work_log_not_running",
        )
    _close(log, max(utcnow(), log.started_at))
    if data.notes:
        log.notes = f"{log.notes}\n{data.notes}".strip()[:2000]
    await _set_labour_cost(session, ticket, log, without=log.id)
    _event(session, "updated", log, principal.user_id)
    await session.flush()
    return log


async def list_logs(
    reader: Reader,
    *,
    params: PageParams,
    ticket_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    locale_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    category: WorkLogCategory | None = None,
    billable: bool | None = None,
    running: bool | None = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the logs the caller reads, filtered (``started_from``/``started_to``:
    half-open, on ``started_at``)."""
    stmt = reader.rows(TicketWorkLog)
    equal: Mapping[Any, Any] = {
        TicketWorkLog.ticket_id: ticket_id,
        TicketWorkLog.technician_id: technician_id,
        TicketWorkLog.locale_id: locale_id,
        TicketWorkLog.vendor_id: vendor_id,
        TicketWorkLog.category: category,
        TicketWorkLog.billable: billable,
    }
    for column, value in equal.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if running is not None:
        stmt = stmt.where(
            TicketWorkLog.ended_at.is_(None) if running else TicketWorkLog.ended_at.is_not(None)
        )
    if started_from is not None:
        stmt = stmt.where(TicketWorkLog.started_at >= started_from)
    if started_to is not None:
        stmt = stmt.where(TicketWorkLog.started_at < started_to)
    return await reader.page(
        stmt,
        params,
        sort_fields=LOG_SORTS,
        id_column=TicketWorkLog.id,
        default_sort="-started_at",
    )


async def list_ticket_logs(
    reader: Reader, *, ticket_id: uuid.UUID, params: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a ticket's logs (whoever reads the ticket; 404 otherwise)."""
    async with reader.sharing():  # the ticket and the page: one connection
        await reader.row(ServiceTicket, ticket_id)
        return await list_logs(reader, params=params, ticket_id=ticket_id)


async def _log_to_change(
    session: AsyncSession, principal: Principal, log_id: uuid.UUID
) -> tuple[TicketWorkLog, ServiceTicket]:
    """A log the caller changes, with its ticket locked: whoever changes the ticket; a
    technician only their own, while it runs or within 24 hours of its end (403
    ``work_log_not_yours``, ``work_log_edit_window``)."""
    log = await access.get_for_write(session, TicketWorkLog, log_id, principal)
    ticket = await _ticket(session, principal, log.ticket_id)
    if _is_technician(principal):
        if log.technician_id != principal.user_id:
            raise Forbidden(
                gettext("A technician changes only their own work logs."),
                code="work_log_not_yours",
            )
        if log.ended_at is not None and utcnow() - log.ended_at > EDIT_WINDOW:
            raise Forbidden(
                gettext("A technician changes their time only within 24 hours; ask a manager."),
                code="work_log_edit_window",
            )
    await _lock_technician(session, log.technician_id)
    return log, ticket


def _span_refused(field: str, msg: str) -> Unprocessable:
    return Unprocessable(msg, errors=[field_error(("body", field), msg)])


async def update_log(
    session: AsyncSession, *, principal: Principal, log_id: uuid.UUID, data: WorkLogUpdate
) -> TicketWorkLog:
    """Change a log's span, category, billable flag or notes; its cost follows (a changed
    category takes the technician's rate again)."""
    log, ticket = await _log_to_change(session, principal, log_id)
    changes = data.model_dump(exclude_unset=True)
    if log.ended_at is None and {"ended_at", "minutes"} & changes.keys():
        raise Conflict(
            gettext("The log's timer runs; stop it to set its end."), code="work_log_running"
        )
    now = utcnow()
    started_at: datetime = changes.get("started_at", log.started_at)
    ended_at: datetime | None = log.ended_at
    if "ended_at" in changes:
        ended_at = changes["ended_at"]
    elif "minutes" in changes:
        ended_at = started_at + timedelta(minutes=changes["minutes"])
    span_changed = started_at != log.started_at or ended_at != log.ended_at
    if ended_at is not None and span_changed:
        field = next((f for f in ("ended_at", "minutes", "started_at") if f in changes), "")
        problem = span_problem(started_at, ended_at)
        if problem:
            raise _span_refused(field, problem.translated())
        _check_end(principal, ended_at, now, field)
    elif ended_at is None and "started_at" in changes:
        if started_at > now + CLOCK_SKEW:
            msg = gettext("a running timer cannot start in the future")
            raise _span_refused("started_at", msg)
        if _is_technician(principal) and now - started_at > EDIT_WINDOW:
            raise Forbidden(
                gettext("A technician changes their time only within 24 hours; ask a manager."),
                code="work_log_edit_window",
            )
    if span_changed:
        await _ensure_no_overlap(
            session,
            technician_id=log.technician_id,
            started_at=started_at,
            ended_at=ended_at,
            exclude_id=log.id,
        )
    if "category" in changes and changes["category"] != log.category:
        technician = await session.get(User, log.technician_id)
        assert technician is not None
        log.hourly_rate_minor, log.currency = await rate_for(
            session, ticket=ticket, technician=technician, category=changes["category"]
        )
        log.category = changes["category"]
    for key in ("billable", "notes"):
        if key in changes:
            setattr(log, key, changes[key])
    log.started_at = started_at
    if ended_at is not None:
        _close(log, ended_at)
    await _set_labour_cost(session, ticket, log, without=log.id)
    _event(session, "updated", log, principal.user_id)
    await session.flush()
    return log


async def delete_log(session: AsyncSession, *, principal: Principal, log_id: uuid.UUID) -> None:
    """Delete a log (as it would be changed); the ticket's labour cost drops by its cost."""
    log, ticket = await _log_to_change(session, principal, log_id)
    await _set_labour_cost(session, ticket, None, without=log.id)
    _event(session, "deleted", log, principal.user_id)
    await session.delete(log)
    await session.flush()


# --- rates ---------------------------------------------------------------------------------------


def _rate_client(principal: Principal) -> uuid.UUID:
    if principal.client_id is None or not principal.reaches_every_locale("write"):
        raise Forbidden(
            gettext("Only the client's owner, admins and client-wide managers set labour rates."),
            code="labour_rates_managers_only",
        )
    return principal.client_id


async def _ensure_rate_free(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    technician_id: uuid.UUID | None,
    vendor_id: uuid.UUID | None,
    category: WorkLogCategory | None,
) -> None:
    holder = (
        LabourRate.technician_id == technician_id
        if technician_id is not None
        else and_(LabourRate.technician_id.is_(None), LabourRate.vendor_id == vendor_id)
    )
    same_category = (
        LabourRate.category == category if category is not None else LabourRate.category.is_(None)
    )
    stmt = select(LabourRate.id).where(LabourRate.client_id == client_id, holder, same_category)
    existing = (await session.execute(stmt.limit(1))).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            gettext("This rate already has a line for that category ({id}).", id=existing),
            code="labour_rate_exists",
            existing_rate_id=str(existing),
        )


async def create_rate(
    session: AsyncSession, *, principal: Principal, data: RateCreate
) -> LabourRate:
    """Set an hourly rate of the caller's client: a technician's own (one working on the
    client) or a vendor's rate card line (a vendor the client can use); one line per holder
    and category (409 ``labour_rate_exists``)."""
    client_id = _rate_client(principal)
    if data.technician_id is not None:
        private_vendors = select(Vendor.id).where(Vendor.client_id == client_id)
        stmt = select(User).where(
            User.id == data.technician_id,
            or_(
                User.client_id == client_id,
                User.vendor_id.in_(private_vendors.scalar_subquery()),
            ),
        )
        user = (await session.execute(stmt)).scalar_one_or_none()
        if user is None:
            raise NotFound(gettext("technician not found"))
        if user.role is not UserRole.technician:
            raise _not_a_technician()
    else:
        assert data.vendor_id is not None
        vendor = await access.get_scoped(session, Vendor, data.vendor_id, principal)
        if vendor.client_id not in (None, client_id):
            raise NotFound(gettext("vendor not found"))
    await _ensure_rate_free(
        session,
        client_id=client_id,
        technician_id=data.technician_id,
        vendor_id=data.vendor_id,
        category=data.category,
    )
    rate = LabourRate(client_id=client_id, **data.model_dump())
    session.add(rate)
    await session.flush()
    return rate


async def list_rates(
    reader: Reader,
    *,
    params: PageParams,
    technician_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    category: WorkLogCategory | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the rates the caller reads."""
    stmt = reader.rows(LabourRate)
    if technician_id is not None:
        stmt = stmt.where(LabourRate.technician_id == technician_id)
    if vendor_id is not None:
        stmt = stmt.where(LabourRate.vendor_id == vendor_id)
    if category is not None:
        stmt = stmt.where(LabourRate.category == category)
    return await reader.page(
        stmt, params, sort_fields=RATE_SORTS, id_column=LabourRate.id, default_sort="created_at"
    )


async def update_rate(
    session: AsyncSession, *, principal: Principal, rate_id: uuid.UUID, data: RateUpdate
) -> LabourRate:
    """Change a rate's amount or currency; logs already costed keep their frozen rate."""
    rate = await access.get_for_write(session, LabourRate, rate_id, principal)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(rate, key, value)
    await session.flush()
    return rate


async def delete_rate(session: AsyncSession, *, principal: Principal, rate_id: uuid.UUID) -> None:
    """Delete a rate (logs already costed keep theirs)."""
    rate = await access.get_for_write(session, LabourRate, rate_id, principal)
    await session.delete(rate)
    await session.flush()
