"""SLA policies and the SLA clock of tickets.

A ticket takes the policy of its locale, else the client-wide policy, else the platform default
(``DEFAULT_TARGETS``). Deadlines and warning instants are fixed when the ticket is raised, in the
policy's clock (calendar time, or the locale's business hours: :mod:`kerops.core.sla_clock`)
and recomputed when its priority changes; editing a policy changes the deadlines of tickets raised
afterwards. Waiting states pause the clock: leaving one moves every open deadline out by the
paused clock time. ``sla_next_check_at`` is the next instant a threshold falls due; the
``sla.check`` job (:mod:`kerops.operations.sla_jobs`) acts on it.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import bindparam, event, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import TicketPriority, TicketStatus
from kerops.core.errors import Conflict, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.sla_clock import (
    CALENDAR,
    DEFAULT_BUSINESS_HOURS,
    MINUTE,
    BusinessCalendar,
    Clock,
    ClockKind,
)
from kerops.operations.models import ServiceTicket, SlaPolicy
from kerops.operations.sla_schemas import SlaPolicyCreate, SlaPolicyUpdate
from kerops.tenancy.models import Locale
from kerops.users import clients

log = logging.getLogger("kerops.sla")

SLA_POLICY_SORTS = {"name": SlaPolicy.name, "created_at": SlaPolicy.created_at}

#: Platform default (response, resolution) minutes per priority, for clients without a policy.
DEFAULT_TARGETS: dict[TicketPriority, tuple[int, int]] = {
    TicketPriority.critical: (60, 4 * 60),
    TicketPriority.high: (4 * 60, 24 * 60),
    TicketPriority.medium: (8 * 60, 72 * 60),
    TicketPriority.low: (24 * 60, 168 * 60),
}

#: Warning share of the platform default.
DEFAULT_WARNING_PERCENT = 75
#: States in which the SLA clock is paused; leaving one moves the open deadlines out.
PAUSED_STATES = frozenset(
    {TicketStatus.on_hold, TicketStatus.waiting_parts, TicketStatus.waiting_approval}
)
#: States that meet the resolution target (a reopened ticket is measured again).
RESOLVED_STATES = frozenset({TicketStatus.resolved, TicketStatus.completed})

_DUPLICATE = N_("This client already has a policy for that scope (client-wide, or that locale).")

Target = Literal["response", "resolution"]
Threshold = Literal["warning", "breach"]


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The SLA deadlines of a ticket and the policy they came from (None: platform default)."""

    policy_id: uuid.UUID | None
    response_due_at: datetime
    resolution_due_at: datetime
    clock: ClockKind = ClockKind.calendar
    response_warn_at: datetime | None = None
    resolution_warn_at: datetime | None = None

    def columns(self) -> dict[str, Any]:
        """The ticket columns these deadlines set (for ``ServiceTicket(**...)``)."""
        instants = [self.response_warn_at, self.response_due_at]
        return {
            "sla_policy_id": self.policy_id,
            "sla_clock": self.clock,
            "sla_response_due_at": self.response_due_at,
            "sla_resolution_due_at": self.resolution_due_at,
            "sla_response_warn_at": self.response_warn_at,
            "sla_resolution_warn_at": self.resolution_warn_at,
            "sla_next_check_at": min(i for i in instants if i is not None),
        }


# --- business calendars of locales ---------------------------------------------------------------


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


@functools.cache
def holiday_subdivision(country: str, region: str) -> str | None:
    """The ``holidays`` subdivision of a locale's region: its code or its name (else None)."""
    try:
        cls = holidays.country_holidays(country.upper()).__class__
    except NotImplementedError:
        return None
    codes: dict[str, str] = {str(c).casefold(): str(c) for c in getattr(cls, "subdivisions", ())}
    aliases = getattr(cls, "subdivisions_aliases", {}) or {}
    key = _fold(region)
    if not key:
        return None
    if key in codes:
        return codes[key]
    names: dict[str, str] = {_fold(name): str(code) for name, code in aliases.items()}
    return names.get(key)


@functools.lru_cache(maxsize=512)
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of a country (and region) in one year; none for unknown countries."""
    try:
        found = holidays.country_holidays(country.upper(), subdiv=subdivision, years=year)
    except NotImplementedError:
        return frozenset()
    return frozenset(found.keys())


@dataclass(frozen=True)
class ClosedDays:
    """A locale's closed dates: public holidays of its country and region, and its own list."""

    country: str
    subdivision: str | None
    extra: frozenset[date]

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        return day in self.extra or day in public_holidays(self.country, self.subdivision, day.year)


def business_calendar(locale: Locale) -> BusinessCalendar:
    """The business time of a locale: its zone, hours, public holidays and extra closed days."""
    closed = ClosedDays(
        country=locale.country or "CL",
        subdivision=holiday_subdivision(locale.country or "CL", locale.region or ""),
        extra=frozenset(date.fromisoformat(d) for d in (locale.closed_dates or [])),
    )
    hours = locale.business_hours or DEFAULT_BUSINESS_HOURS
    return BusinessCalendar.from_hours(hours, ZoneInfo(locale.timezone), closed)


async def clock_of(session: AsyncSession, ticket: ServiceTicket) -> Clock:
    """The clock a ticket's SLA runs in."""
    if ticket.sla_clock is not ClockKind.business:
        return CALENDAR
    locale = await session.get(Locale, ticket.locale_id)
    return CALENDAR if locale is None else business_calendar(locale)


#: ``policy_for``'s statement (every new ticket), built once.
_POLICY_FOR = (
    select(SlaPolicy)
    .where(
        SlaPolicy.client_id == bindparam("client_id"),
        or_(SlaPolicy.locale_id == bindparam("locale_id"), SlaPolicy.locale_id.is_(None)),
    )
    # The locale's own policy first (NULL locale ids sort last on both databases this way).
    .order_by(SlaPolicy.locale_id.is_(None))
    .limit(1)
)


async def policy_for(
    session: AsyncSession, client_id: uuid.UUID, locale_id: uuid.UUID
) -> SlaPolicy | None:
    """The policy a ticket of this locale follows: the locale's own, else the client-wide one."""
    params = {"client_id": client_id, "locale_id": locale_id}
    return (await session.execute(_POLICY_FOR, params)).scalar_one_or_none()


def deadlines_from(
    policy: SlaPolicy | None,
    priority: TicketPriority,
    start: datetime,
    *,
    calendar: BusinessCalendar | None = None,
    paused_minutes: int = 0,
) -> Deadlines:
    """Deadlines of a ticket of ``priority`` raised at ``start`` under ``policy``.

    A business-clock policy needs the locale's ``calendar``; ``paused_minutes`` of clock time
    already spent paused move every instant out.
    """
    if policy is None:
        response, resolution = DEFAULT_TARGETS[priority]
        percent, kind = DEFAULT_WARNING_PERCENT, ClockKind.calendar
    else:
        target = policy.targets[priority.value]
        response, resolution = int(target["response_minutes"]), int(target["resolution_minutes"])
        percent, kind = policy.warning_percent, ClockKind(policy.clock or ClockKind.calendar)
    clock: Clock = CALENDAR
    if kind is ClockKind.business:
        if calendar is None:
            raise ValueError("a business-clock policy needs the locale's business calendar")
        clock = calendar
    paused = timedelta(minutes=paused_minutes)

    def at(minutes: int, share: int = 100) -> datetime:
        return clock.add(start, timedelta(minutes=minutes) * share / 100 + paused)

    return Deadlines(
        policy_id=None if policy is None else policy.id,
        response_due_at=at(response),
        resolution_due_at=at(resolution),
        clock=kind,
        response_warn_at=at(response, percent),
        resolution_warn_at=at(resolution, percent),
    )


async def deadlines(
    session: AsyncSession,
    client_id: uuid.UUID,
    locale_id: uuid.UUID,
    priority: TicketPriority,
    start: datetime,
    *,
    paused_minutes: int = 0,
) -> Deadlines:
    """Deadlines of a ticket of this client's locale, raised at ``start``."""
    policy = await policy_for(session, client_id, locale_id)
    calendar = None
    if policy is not None and policy.clock is ClockKind.business:
        locale = await session.get(Locale, locale_id)
        if locale is not None:
            calendar = business_calendar(locale)
    return deadlines_from(policy, priority, start, calendar=calendar, paused_minutes=paused_minutes)


# --- the clock of one ticket ---------------------------------------------------------------------


def _met_at(ticket: ServiceTicket, target: Target) -> datetime | None:
    if target == "response":
        return ticket.responded_at
    return ticket.resolved_at if ticket.status in RESOLVED_STATES else None


def pending_thresholds(ticket: ServiceTicket) -> list[tuple[Target, Threshold, datetime]]:
    """The thresholds still to act on, with the instant each falls due.

    A warning is pending while its target is unmet, the clock runs and no warning was recorded.
    A breach is pending while not recorded and the target is unmet with the clock running, or was
    met after its deadline (a late response or resolution is still a breach; one at the deadline
    instant itself is in time).
    """
    running = ticket.status not in PAUSED_STATES and ticket.status not in (
        TicketStatus.cancelled,
        *RESOLVED_STATES,
    )
    found: list[tuple[Target, Threshold, datetime]] = []
    targets: tuple[tuple[Target, datetime | None, datetime | None, datetime | None, bool], ...] = (
        (
            "response",
            ticket.sla_response_warn_at,
            ticket.sla_response_warned_at,
            ticket.sla_response_due_at,
            ticket.sla_response_breached,
        ),
        (
            "resolution",
            ticket.sla_resolution_warn_at,
            ticket.sla_resolution_warned_at,
            ticket.sla_resolution_due_at,
            ticket.sla_resolution_breached,
        ),
    )
    for target, warn_at, warned_at, due_at, breached in targets:
        met_at = _met_at(ticket, target)
        if met_at is None and running and warn_at is not None and warned_at is None:
            found.append((target, "warning", warn_at))
        if due_at is None or breached:
            continue
        if (met_at is None and running) or (met_at is not None and met_at > due_at):
            found.append((target, "breach", due_at))
    return found


def has_come(threshold: tuple[Target, Threshold, datetime], now: datetime) -> bool:
    """Whether a pending threshold is to be recorded at ``now``: a warning from its instant on, a
    breach only after its deadline (a target met at the deadline instant itself is met)."""
    _, kind, instant = threshold
    return instant < now if kind == "breach" else instant <= now


def next_check_at(ticket: ServiceTicket) -> datetime | None:
    """When the ``sla.check`` job should next look at the ticket (None: nothing pending)."""
    return min((at for _, _, at in pending_thresholds(ticket)), default=None)


async def record_status_change(session: AsyncSession, ticket: ServiceTicket, at: datetime) -> None:
    """SLA bookkeeping after a ticket moved to ``ticket.status`` at ``at``.

    Entering a waiting state starts a pause; leaving it adds the paused clock time (whole minutes)
    to ``sla_paused_minutes`` and moves the unmet deadlines and warning instants out by it.
    """
    if ticket.status in PAUSED_STATES:
        if ticket.sla_paused_at is None:
            ticket.sla_paused_at = at
    elif ticket.sla_paused_at is not None:
        clock = await clock_of(session, ticket)
        minutes = clock.between(ticket.sla_paused_at, at) // MINUTE
        ticket.sla_paused_at = None
        if minutes > 0:
            shift = timedelta(minutes=minutes)
            ticket.sla_paused_minutes = (ticket.sla_paused_minutes or 0) + minutes
            if ticket.responded_at is None:
                ticket.sla_response_due_at = _shift(clock, ticket.sla_response_due_at, shift)
                ticket.sla_response_warn_at = _shift(clock, ticket.sla_response_warn_at, shift)
            ticket.sla_resolution_due_at = _shift(clock, ticket.sla_resolution_due_at, shift)
            ticket.sla_resolution_warn_at = _shift(clock, ticket.sla_resolution_warn_at, shift)
    ticket.sla_next_check_at = next_check_at(ticket)


def _shift(clock: Clock, instant: datetime | None, amount: timedelta) -> datetime | None:
    return None if instant is None else clock.add(instant, amount)


async def reschedule(session: AsyncSession, ticket: ServiceTicket) -> None:
    """Recompute a ticket's deadlines from its creation (after a priority change), with pauses."""
    due = await deadlines(
        session,
        ticket.client_id,
        ticket.locale_id,
        ticket.priority,
        ticket.created_at,
        paused_minutes=ticket.sla_paused_minutes or 0,
    )
    for key, value in due.columns().items():
        setattr(ticket, key, value)
    ticket.sla_next_check_at = next_check_at(ticket)


@event.listens_for(ServiceTicket, "before_insert")
def _watch_new_ticket(_mapper: Mapper[Any], _connection: Any, ticket: ServiceTicket) -> None:
    """A ticket raised with deadlines but no next check (any code path) is watched too."""
    if ticket.sla_next_check_at is None and ticket.status is not None:
        ticket.sla_next_check_at = next_check_at(ticket)


# --- policies ------------------------------------------------------------------------------------


def _targets_json(data: SlaPolicyCreate | SlaPolicyUpdate) -> dict[str, dict[str, int]]:
    assert data.targets is not None
    return {priority.value: target.model_dump() for priority, target in data.targets.items()}


async def _ensure_scope_free(
    session: AsyncSession, client_id: uuid.UUID, locale_id: uuid.UUID | None
) -> None:
    stmt = select(SlaPolicy.id).where(SlaPolicy.client_id == client_id)
    stmt = stmt.where(
        SlaPolicy.locale_id.is_(None) if locale_id is None else SlaPolicy.locale_id == locale_id
    )
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(gettext(_DUPLICATE), code="sla_policy_exists")


async def create_policy(
    session: AsyncSession, *, principal: Principal, data: SlaPolicyCreate
) -> SlaPolicy:
    """Create the client-wide policy or one locale's policy (one of each per scope)."""
    client_id = await clients.client_for_new(session, principal, data.client_id, N_("SLA policies"))
    if data.locale_id is not None:
        locale = await access.get_scoped(session, Locale, data.locale_id, principal)
        if locale.client_id != client_id:
            raise Unprocessable(
                gettext("The locale must belong to the policy's client."),
                errors=[field_error(("body", "locale_id"), gettext("locale of another client"))],
            )
    await _ensure_scope_free(session, client_id, data.locale_id)
    policy = SlaPolicy(
        client_id=client_id,
        locale_id=data.locale_id,
        name=data.name,
        targets=_targets_json(data),
        warning_percent=data.warning_percent,
        clock=data.clock,
    )
    session.add(policy)
    await flush_or_conflict(session, gettext(_DUPLICATE))
    return policy


async def list_policies(
    reader: Reader,
    *,
    params: PageParams,
    q: str | None = None,
    locale_id: uuid.UUID | None = None,
    client_wide: bool | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the SLA policies the caller can see."""
    stmt = reader.rows(SlaPolicy)
    if q:
        stmt = stmt.where(text_search(q, SlaPolicy.name))
    if locale_id is not None:
        stmt = stmt.where(SlaPolicy.locale_id == locale_id)
    if client_wide is not None:
        stmt = stmt.where(
            SlaPolicy.locale_id.is_(None) if client_wide else SlaPolicy.locale_id.is_not(None)
        )
    return await reader.page(
        stmt,
        params,
        sort_fields=SLA_POLICY_SORTS,
        id_column=SlaPolicy.id,
        default_sort="name",
    )


async def update_policy(
    session: AsyncSession, *, principal: Principal, policy_id: uuid.UUID, data: SlaPolicyUpdate
) -> SlaPolicy:
    """Change a policy's name, targets, warning share or clock (its scope is fixed)."""
    policy = await access.get_for_write(session, SlaPolicy, policy_id, principal, for_update=True)
    changes = data.model_dump(exclude_unset=True, exclude={"targets"})
    for key, value in changes.items():
        setattr(policy, key, value)
    if data.targets is not None:
        policy.targets = _targets_json(data)
    await session.flush()
    return policy


async def delete_policy(
    session: AsyncSession, *, principal: Principal, policy_id: uuid.UUID
) -> None:
    """Delete a policy; tickets keep their deadlines, new ones fall back to the next scope."""
    policy = await access.get_for_write(session, SlaPolicy, policy_id, principal, for_update=True)
    await session.delete(policy)
    await session.flush()
