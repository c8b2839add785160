"""Six months of the demo client's past, generated, so its analytics and monthly reports show
something real on a fresh ``kerops serve --demo``.

The history is made from a fixed seed, so every demo database holds the same past (relative to
the day it was loaded). It is written as rows, the way the services would have left them after
six months of work, not replayed through the services (which stamp everything "now"):

- corrective tickets on the client's assets, the failures clustering on the old chiller
  ("Chiller 2"), each taken along the default workflow (assigned, accepted, en route, in progress,
  sometimes waiting for parts, resolved, completed) with its history rows, SLA deadlines from the
  client's policy, the travel and work its technician logged and the parts cost typed on it
  (the client's stores were not kept in the product then, so no ledger movements);
- exactly two SLA breaches (a late response and a late resolution), one reopened ticket, two
  cancelled ones and a small backlog waiting for parts;
- the past occurrences of the monthly chiller plan and the quarterly panel plan, with their
  tickets, done by their due time except one month's;
- the downtime of the assets that failed (their status history) and the technician's working
  shifts, Monday to Friday 08:00-17:00.

It ends two weeks before the load, where the hand-written demo tickets begin.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset, AssetMaintenancePlan, AssetStatusChange, PlanOccurrence
from kerops.core.audit import set_audit_context
from kerops.core.enums import (
    AssetStatus,
    ShiftType,
    TicketPriority,
    TicketStatus,
    WorkLogCategory,
)
from kerops.core.principal import AuditContext
from kerops.labour.models import TicketWorkLog
from kerops.operations import sla, workflows
from kerops.operations.models import ServiceTicket, TicketHistory
from kerops.operations.numbering import next_ticket_number
from kerops.workforce.models import TechnicianShift

#: The history's length, and the days before the load it stops (the demo tickets' fortnight).
HISTORY_DAYS = 182
QUIET_DAYS = 15
SEED = 62

#: The old chiller: most corrective tickets are its failures.
OLD_CHILLER = "Chiller 2"
#: (asset, how many failures in the six months, what is reported, priority, takes it down)
FAILURES: list[tuple[str, int, list[str], TicketPriority, bool]] = [
    (
        OLD_CHILLER,
        14,
        [
            "Chiller 2 en falla por alta presión",
            "Chiller 2 no parte",
            "Chiller 2 con fuga de refrigerante",
            "Ruido en compresor de chiller 2",
        ],
        TicketPriority.high,
        True,
    ),
    (
        "Vitrina refrigerada carnes",
        4,
        ["Vitrina sobre 6 °C", "Vitrina con escarcha"],
        TicketPriority.high,
        True,
    ),
    ("Cámara de frío 1", 3, ["Alarma de temperatura en cámara"], TicketPriority.high, True),
    ("Split cajas 2", 3, ["Split de cajas gotea", "Split no enfría"], TicketPriority.medium, False),
    (
        "Tablero de fuerza TF-2",
        2,
        ["Disparo de protección en TF-2"],
        TicketPriority.medium,
        False,
    ),
    ("Iluminación LED sala", 4, ["Luminarias apagadas en sala"], TicketPriority.low, False),
    ("Rooftop RTU-1", 2, ["Rooftop con ruido en ventilador"], TicketPriority.medium, False),
    ("Chiller 1", 1, ["Chiller 1 con baja presión de succión"], TicketPriority.high, True),
    (
        "Vitrina refrigerada lácteos",
        3,
        ["Vitrina de lácteos no enfría", "Puerta de vitrina no cierra"],
        TicketPriority.medium,
        False,
    ),
    ("Unidad manejadora UMA-1", 2, ["Correa de UMA-1 suelta"], TicketPriority.medium, False),
    ("Grupo electrógeno", 1, ["Grupo electrógeno no parte en prueba"], TicketPriority.high, True),
    ("Compresor rack de frío", 3, ["Rack de frío con alarma"], TicketPriority.high, True),
    ("Cámara de congelados", 2, ["Cámara de congelados sobre -15 °C"], TicketPriority.high, True),
    ("Cortina de aire acceso", 2, ["Cortina de aire no funciona"], TicketPriority.low, False),
    ("Iluminación LED Viña", 3, ["Luminarias apagadas en Viña"], TicketPriority.low, False),
    ("Vitrina refrigerada Viña", 2, ["Vitrina de Viña con escarcha"], TicketPriority.medium, False),
    ("Tablero general TG-V", 1, ["Olor a quemado en TG-V"], TicketPriority.high, False),
]
#: The parts a corrective ticket may use (CLP, at cost), picked by the seed.
PARTS_COST_CLP = (0, 0, 12_600, 18_900, 25_200, 51_800, 86_100)


@dataclass
class Cast:
    """Who and what the history is about (made by the demo before it)."""

    client_id: uuid.UUID
    manager_id: uuid.UUID
    requester_id: uuid.UUID
    owner_id: uuid.UUID
    tech_id: uuid.UUID
    #: The requester's locale; the owner raises the other locales' tickets.
    requester_locale_id: uuid.UUID
    assets: dict[str, Asset]
    zones: dict[uuid.UUID, ZoneInfo] = field(default_factory=dict)
    #: The technician's hourly rates in CLP by category (None: every other category).
    rates: dict[WorkLogCategory | None, int] = field(default_factory=dict)


@dataclass
class _Plan:
    """A ticket's life: its moves (status, instant, actor), its pauses and what it cost."""

    moves: list[tuple[TicketStatus, datetime, uuid.UUID | None]] = field(default_factory=list)
    paused_minutes: int = 0
    logs: list[tuple[WorkLogCategory, datetime, datetime]] = field(default_factory=list)


async def load(session: AsyncSession, cast: Cast, *, now: datetime) -> int:
    """Write the six months before ``now - QUIET_DAYS``; returns the tickets written."""
    rng = random.Random(SEED)  # noqa: S311 - made-up history, not a secret
    start = now - timedelta(days=HISTORY_DAYS)
    end = now - timedelta(days=QUIET_DAYS)
    writer = _Writer(session, cast, rng, now)
    await writer.prepare()
    await _backdate_assets(session, cast, start - timedelta(days=30), now)
    await _shifts(session, cast, start, end)
    specs: list[tuple[datetime, str, str, TicketPriority, bool]] = []
    for asset_name, count, titles, priority, goes_down in FAILURES:
        for index in range(count):
            # Spread over the half year, with the seed's jitter; failures in working hours.
            day = start + (end - start) * (index + rng.random() * 0.8) / count
            local = day.astimezone(cast.zones[cast.assets[asset_name].locale_id])
            at = datetime.combine(local.date(), time(rng.randint(8, 18), rng.randint(0, 59)))
            created = at.replace(tzinfo=local.tzinfo).astimezone(UTC)
            specs.append((created, asset_name, titles[index % len(titles)], priority, goes_down))
    specs.sort()
    # The special cases, picked among the corrective tickets by position and priority (the
    # seed fixes them): a reopened ticket is medium or low, so its second fix stays in target.
    taken: set[int] = set()
    late_response = _pick(specs, 5, {TicketPriority.high}, taken)
    late_resolution = _pick(specs, 11, {TicketPriority.medium}, taken)
    reopened = _pick(specs, 17, {TicketPriority.medium, TicketPriority.low}, taken)
    cancelled = {
        _pick(specs, 8, set(TicketPriority), taken),
        _pick(specs, 22, set(TicketPriority), taken),
    }
    backlog = {_pick(specs, len(specs) - k, set(TicketPriority), taken) for k in (6, 3, 1)}
    # Every ticket in the order it was raised, so their numbers follow their dates.
    raised: list[tuple[datetime, Callable[[], Awaitable[object]]]] = []
    for position, (created, asset_name, title, priority, goes_down) in enumerate(specs):
        write: Callable[[], Awaitable[object]]
        if position in cancelled:
            write = partial(writer.cancelled, created, asset_name, title, priority)
        elif position in backlog:
            write = partial(writer.waiting, created, asset_name, title, priority)
        else:
            write = partial(
                writer.corrective,
                created,
                asset_name,
                title,
                priority,
                goes_down=goes_down,
                late_response=position == late_response,
                late_resolution=position == late_resolution,
                reopened=position == reopened,
            )
        raised.append((created, write))
    raised += await _plan_history(session, cast, writer, start, end)
    raised.sort(key=lambda item: item[0])
    for _, write in raised:
        await write()
    await session.flush()
    audit_as(session, cast.owner_id)
    return writer.count


def audit_as(session: AsyncSession, user_id: uuid.UUID | None) -> None:
    """The changes that follow are audited as ``user_id``'s (None: the system's)."""
    set_audit_context(session.sync_session, AuditContext(actor_user_id=user_id, request_id="demo"))


def _pick(
    specs: list[tuple[datetime, str, str, TicketPriority, bool]],
    at: int,
    priorities: set[TicketPriority],
    taken: set[int],
) -> int:
    """The first position from ``at`` on (wrapping round) of a ticket of these priorities."""
    for offset in range(len(specs)):
        position = (at + offset) % len(specs)
        if position not in taken and specs[position][3] in priorities:
            taken.add(position)
            return position
    raise LookupError(at)


class _Writer:
    """Writes tickets, their history, work logs and downtime as the services leave them."""

    def __init__(
        self, session: AsyncSession, cast: Cast, rng: random.Random, now: datetime
    ) -> None:
        self.session = session
        self.cast = cast
        self.rng = rng
        self.now = now
        self.count = 0
        self.workflow_id: uuid.UUID | None = None

    async def prepare(self) -> None:
        workflow = await workflows.ensure_default_workflow(self.session, self.cast.client_id)
        self.workflow_id = workflow.id

    def _minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    async def _ticket(
        self,
        created: datetime,
        asset: Asset,
        title: str,
        priority: TicketPriority,
        plan: _Plan,
        *,
        status: TicketStatus,
        source: str = "manual",
        maintenance_plan_id: uuid.UUID | None = None,
        parts_cost: int = 0,
        paused_at: datetime | None = None,
        planned_at: datetime | None = None,
    ) -> ServiceTicket:
        policy = await sla.policy_for(self.session, self.cast.client_id, asset.locale_id)
        # A plan's ticket is raised ahead: its clock starts when it is planned for.
        due = sla.deadlines_from(
            policy, priority, planned_at or created, paused_minutes=plan.paused_minutes
        )
        reached = {move: at for move, at, _ in plan.moves}
        responded = reached.get(TicketStatus.accepted)
        resolved = max(
            (at for move, at, _ in plan.moves if move is TicketStatus.resolved), default=None
        )
        if source == "plan":
            requester = None
        elif asset.locale_id == self.cast.requester_locale_id:
            requester = self.cast.requester_id
        else:
            requester = self.cast.owner_id
        costs = [
            (category, began, ended, minutes, rate, (minutes * rate + 30) // 60)
            for category, began, ended in plan.logs
            for minutes in [int((ended - began).total_seconds() // 60)]
            for rate in [self.cast.rates.get(category, self.cast.rates.get(None, 0))]
        ]
        # Audited as raised by its requester (a plan's ticket by no one, as the PM job's are).
        audit_as(self.session, requester)
        number = await next_ticket_number(self.session, self.cast.client_id)
        ticket = ServiceTicket(
            client_id=self.cast.client_id,
            locale_id=asset.locale_id,
            number=number,
            workflow_id=self.workflow_id,
            title=title,
            description=f"{title}. Reportado por el personal del local.",
            area_id=asset.area_id,
            asset_id=asset.id,
            requester_id=requester,
            technician_id=self.cast.tech_id if TicketStatus.assigned in reached else None,
            maintenance_plan_id=maintenance_plan_id,
            priority=priority,
            status=status,
            source=source,
            planned_at=planned_at,
            **due.columns(),
            responded_at=responded,
            resolved_at=resolved,
            completed_at=reached.get(TicketStatus.completed),
            cancelled_at=reached.get(TicketStatus.cancelled),
            sla_paused_minutes=plan.paused_minutes,
            sla_paused_at=paused_at,
            parts_cost_minor=parts_cost,
            labour_cost_minor=sum(cost for *_, cost in costs),
            created_at=created,
            updated_at=plan.moves[-1][1] if plan.moves else created,
        )
        ticket.sla_response_breached = responded is not None and responded > due.response_due_at
        ticket.sla_resolution_breached = resolved is not None and resolved > due.resolution_due_at
        ticket.sla_next_check_at = None  # closed, paused or past: the clock has nothing to do
        self.session.add(ticket)
        await self.session.flush()
        previous: TicketStatus | None = None
        rows = [(TicketStatus.open, created, requester), *plan.moves]
        for to_status, at, actor in rows:
            self.session.add(
                TicketHistory(
                    client_id=ticket.client_id,
                    locale_id=ticket.locale_id,
                    ticket_id=ticket.id,
                    from_status=previous,
                    to_status=to_status,
                    actor_id=actor,
                    created_at=at,
                )
            )
            previous = to_status
        for category, began, ended, minutes, rate, cost in costs:
            self.session.add(
                TicketWorkLog(
                    client_id=ticket.client_id,
                    locale_id=ticket.locale_id,
                    ticket_id=ticket.id,
                    technician_id=self.cast.tech_id,
                    category=category,
                    started_at=began,
                    ended_at=ended,
                    minutes=minutes,
                    hourly_rate_minor=rate,
                    currency="CLP",
                    cost_minor=cost,
                    billable=True,
                    created_by_id=self.cast.tech_id,
                    created_at=ended,
                    updated_at=ended,
                )
            )
        self.count += 1
        return ticket

    def _work(
        self,
        plan: _Plan,
        created: datetime,
        *,
        response: timedelta,
        work: timedelta,
        pause: timedelta | None = None,
    ) -> datetime:
        """Assigned, accepted after ``response``, en route, in progress, maybe waiting for
        parts, resolved after ``work``: returns when it was resolved."""
        manager, tech = self.cast.manager_id, self.cast.tech_id
        assigned = created + self._minutes(5, 20)
        accepted = created + response
        en_route = accepted + self._minutes(10, 40)
        on_site = en_route + self._minutes(20, 50)
        plan.moves += [
            (TicketStatus.assigned, assigned, manager),
            (TicketStatus.accepted, accepted, tech),
            (TicketStatus.en_route, en_route, tech),
            (TicketStatus.in_progress, on_site, tech),
        ]
        plan.logs.append((WorkLogCategory.travel, en_route, on_site))
        if pause is not None:
            stopped = on_site + self._minutes(40, 80)
            resumed = stopped + pause
            plan.moves += [
                (TicketStatus.waiting_parts, stopped, tech),
                (TicketStatus.in_progress, resumed, tech),
            ]
            plan.logs.append((WorkLogCategory.work, on_site, stopped))
            plan.paused_minutes += int(pause.total_seconds() // 60)
            resolved = resumed + work
            plan.logs.append((WorkLogCategory.work, resumed, resolved))
        else:
            resolved = on_site + work
            plan.logs.append((WorkLogCategory.work, on_site, resolved))
        plan.moves.append((TicketStatus.resolved, resolved, tech))
        return resolved

    async def corrective(
        self,
        created: datetime,
        asset_name: str,
        title: str,
        priority: TicketPriority,
        *,
        goes_down: bool,
        late_response: bool,
        late_resolution: bool,
        reopened: bool,
    ) -> None:
        asset = self.cast.assets[asset_name]
        plan = _Plan()
        # A high priority's response target is 2 h: the late one is answered after 3 h 10. A
        # medium priority's resolution target is 48 h: the late one takes 50 h of work.
        response = timedelta(hours=3, minutes=10) if late_response else self._minutes(25, 70)
        work = timedelta(hours=50) if late_resolution else self._minutes(60, 200)
        pause = None
        if not late_resolution and self.rng.random() < 0.25:
            pause = timedelta(hours=self.rng.randint(18, 40))  # waiting for parts
        resolved = self._work(plan, created, response=response, work=work, pause=pause)
        if reopened:  # the fix did not hold: back the next day, fixed again
            again = resolved + timedelta(hours=20)
            on_site = again + self._minutes(60, 120)
            resolved = on_site + self._minutes(60, 120)
            plan.moves += [
                (TicketStatus.reopened, again, self.cast.manager_id),
                (TicketStatus.in_progress, on_site, self.cast.tech_id),
                (TicketStatus.resolved, resolved, self.cast.tech_id),
            ]
            plan.logs.append((WorkLogCategory.work, on_site, resolved))
        completed = resolved + self._minutes(30, 600)
        plan.moves.append((TicketStatus.completed, completed, self.cast.manager_id))
        parts = self.rng.choice(PARTS_COST_CLP)
        await self._ticket(
            created, asset, title, priority, plan, status=TicketStatus.completed, parts_cost=parts
        )
        if goes_down:
            self._downtime(asset, created, resolved, title)

    async def cancelled(
        self, created: datetime, asset_name: str, title: str, priority: TicketPriority
    ) -> None:
        plan = _Plan()
        plan.moves.append(
            (TicketStatus.cancelled, created + timedelta(hours=1), self.cast.manager_id)
        )
        await self._ticket(
            created,
            self.cast.assets[asset_name],
            f"{title} (duplicado)",
            priority,
            plan,
            status=TicketStatus.cancelled,
        )

    async def waiting(
        self, created: datetime, asset_name: str, title: str, priority: TicketPriority
    ) -> None:
        """Accepted in time, worked on, then waiting for parts since: the backlog."""
        plan = _Plan()
        manager, tech = self.cast.manager_id, self.cast.tech_id
        assigned = created + self._minutes(5, 20)
        accepted = created + self._minutes(25, 70)
        on_site = accepted + self._minutes(30, 80)
        stopped = on_site + self._minutes(40, 80)
        plan.moves += [
            (TicketStatus.assigned, assigned, manager),
            (TicketStatus.accepted, accepted, tech),
            (TicketStatus.en_route, accepted + timedelta(minutes=5), tech),
            (TicketStatus.in_progress, on_site, tech),
            (TicketStatus.waiting_parts, stopped, tech),
        ]
        plan.logs.append((WorkLogCategory.travel, accepted + timedelta(minutes=5), on_site))
        plan.logs.append((WorkLogCategory.work, on_site, stopped))
        await self._ticket(
            created,
            self.cast.assets[asset_name],
            title,
            priority,
            plan,
            status=TicketStatus.waiting_parts,
            paused_at=stopped,
        )

    async def planned(
        self, plan_row: AssetMaintenancePlan, asset: Asset, due: datetime, *, late: bool
    ) -> ServiceTicket:
        """A plan's ticket raised ``lead_time_days`` before ``due``, done before it (or after)."""
        created = due - timedelta(days=plan_row.lead_time_days)
        plan = _Plan()
        if late:  # a day late: PM compliance counts it late, its SLA (from the due time) holds
            begin = due + timedelta(days=1)
        else:
            begin = due - timedelta(days=self.rng.randint(1, max(plan_row.lead_time_days - 1, 1)))
        begin = begin.replace(hour=13, minute=0)  # 10:00 in Santiago, morning in any season
        plan.moves.append((TicketStatus.assigned, created + timedelta(minutes=1), None))
        accepted = created + self._minutes(30, 120)
        plan.moves.append((TicketStatus.accepted, accepted, self.cast.tech_id))
        plan.moves.append((TicketStatus.in_progress, begin, self.cast.tech_id))
        resolved = begin + self._minutes(60, 150)
        plan.moves.append((TicketStatus.resolved, resolved, self.cast.tech_id))
        plan.moves.append(
            (TicketStatus.completed, resolved + self._minutes(20, 120), self.cast.manager_id)
        )
        plan.logs.append((WorkLogCategory.work, begin, resolved))
        return await self._ticket(
            created,
            asset,
            plan_row.name,
            plan_row.default_priority,
            plan,
            status=TicketStatus.completed,
            source="plan",
            maintenance_plan_id=plan_row.id,
            planned_at=due,
        )

    async def occurrence(
        self, plan_row: AssetMaintenancePlan, asset: Asset, due: datetime, *, late: bool
    ) -> None:
        """A plan's past occurrence and the ticket it raised."""
        ticket = await self.planned(plan_row, asset, due, late=late)
        self.session.add(
            PlanOccurrence(
                client_id=self.cast.client_id,
                locale_id=plan_row.locale_id,
                plan_id=plan_row.id,
                occurrence_key=f"date:{due.isoformat()}",
                due_at=due,
                ticket_id=ticket.id,
                created_at=ticket.created_at,
            )
        )

    def _downtime(self, asset: Asset, down: datetime, up: datetime, reason: str) -> None:
        for from_status, to_status, at in (
            (AssetStatus.operational, AssetStatus.down, down),
            (AssetStatus.down, AssetStatus.operational, up),
        ):
            self.session.add(
                AssetStatusChange(
                    client_id=asset.client_id,
                    locale_id=asset.locale_id,
                    asset_id=asset.id,
                    from_status=from_status,
                    to_status=to_status,
                    changed_at=at,
                    changed_by_id=self.cast.tech_id,
                    reason=reason[:300],
                )
            )


async def _backdate_assets(
    session: AsyncSession, cast: Cast, since: datetime, now: datetime
) -> None:
    """The assets were registered before the history: their first status row and their
    creation move back to ``since``; an asset not operational today was until two days ago."""
    for asset in cast.assets.values():
        first = (
            await session.execute(
                select(AssetStatusChange)
                .where(AssetStatusChange.asset_id == asset.id)
                .order_by(AssetStatusChange.changed_at, AssetStatusChange.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if first is not None and first.from_status is None:
            status = first.to_status
            first.changed_at = since
            if status is not AssetStatus.operational:
                first.to_status = AssetStatus.operational
                session.add(
                    AssetStatusChange(
                        client_id=asset.client_id,
                        locale_id=asset.locale_id,
                        asset_id=asset.id,
                        from_status=AssetStatus.operational,
                        to_status=status,
                        changed_at=now - timedelta(days=2),
                        changed_by_id=cast.manager_id,
                        reason="",
                    )
                )
        asset.created_at = since
    await session.flush()


async def _shifts(session: AsyncSession, cast: Cast, start: datetime, end: datetime) -> None:
    """The technician's working weeks: Monday to Friday, 08:00-17:00 in Santiago."""
    zone = ZoneInfo("America/Santiago")
    day: date = start.astimezone(zone).date()
    last: date = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() < 5:
            session.add(
                TechnicianShift(
                    technician_id=cast.tech_id,
                    client_id=cast.client_id,
                    shift_type=ShiftType.working,
                    starts_at=datetime.combine(day, time(8), zone).astimezone(UTC),
                    ends_at=datetime.combine(day, time(17), zone).astimezone(UTC),
                    notes="",
                )
            )
        day += timedelta(days=1)
    await session.flush()


async def _plan_history(
    session: AsyncSession, cast: Cast, writer: _Writer, start: datetime, end: datetime
) -> list[tuple[datetime, Callable[[], Awaitable[object]]]]:
    """The calendar plans' past occurrences, each with its ticket (when it was raised, and how
    to write it): the monthly chiller plan on the first of each month (one month done a day
    late), the quarterly panel plan."""
    plans = (
        (
            await session.execute(
                select(AssetMaintenancePlan).where(
                    AssetMaintenancePlan.client_id == cast.client_id,
                    AssetMaintenancePlan.trigger == "date",
                )
            )
        )
        .scalars()
        .all()
    )
    zone = ZoneInfo("America/Santiago")
    first_late = True
    raised: list[tuple[datetime, Callable[[], Awaitable[object]]]] = []
    for plan_row in sorted(plans, key=lambda p: p.name):
        asset = next(a for a in cast.assets.values() if a.id == plan_row.asset_id)
        step = plan_row.interval_count or 1
        month = start.astimezone(zone).date().replace(day=1)
        dues: list[datetime] = []
        while True:
            month = _add_months(month, 1)
            due = datetime.combine(month, time(9), zone).astimezone(UTC)
            if due > end:
                break
            if (month.month - 1) % step == 0:
                dues.append(due)
        for index, due in enumerate(dues):
            late = first_late and step == 1 and index == 2
            first_late = first_late and not late
            created = due - timedelta(days=plan_row.lead_time_days)
            raised.append((created, partial(writer.occurrence, plan_row, asset, due, late=late)))
    return raised


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1, day=1)
