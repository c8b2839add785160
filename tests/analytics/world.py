"""A hand-built month of one client, April 2026, whose metrics the tests work out by hand.

Two locales: Providencia (America/Santiago: UTC-3 until 2026-04-05 03:00Z, then UTC-4; back to
UTC-3 at 2026-09-06 04:00Z, when local midnight is skipped) and Punta Arenas
(America/Punta_Arenas: UTC-3 all year). Rows are inserted straight (Core, no audit): the
metrics read base tables only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset, AssetMaintenancePlan, AssetStatusChange, PlanOccurrence
from kerops.core.enums import (
    AssetStatus,
    MovementDocument,
    MovementKind,
    ProductCategory,
    ShiftType,
    TicketPriority,
    TicketStatus,
    UserRole,
    WarehouseKind,
    WorkLogCategory,
)
from kerops.core.types import uuid7
from kerops.events.models import Event
from kerops.inventory.models import InventoryMovement, Product, Warehouse
from kerops.iot.models import IoTDevice, IoTReading, IoTRule
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket, TicketHistory, TicketTask
from kerops.tenancy.models import Locale
from kerops.users.models import User
from kerops.workforce.models import TechnicianShift
from tests.fixtures.factories import Account, Runner

S = TicketStatus


def z(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    """An instant in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    """Client A's ids, by the names the tests use."""

    client_id: uuid.UUID
    providencia: uuid.UUID = field(default_factory=uuid7)
    punta_arenas: uuid.UUID = field(default_factory=uuid7)
    chiller: uuid.UUID = field(default_factory=uuid7)  # hvac, Providencia
    pump: uuid.UUID = field(default_factory=uuid7)  # plumbing, Punta Arenas
    boiler: uuid.UUID = field(default_factory=uuid7)  # hvac, Providencia (September)
    technician: uuid.UUID = field(default_factory=uuid7)
    plan: uuid.UUID = field(default_factory=uuid7)
    idle_plan: uuid.UUID = field(default_factory=uuid7)
    rule: uuid.UUID = field(default_factory=uuid7)
    device: uuid.UUID = field(default_factory=uuid7)
    quiet_device: uuid.UUID = field(default_factory=uuid7)
    tickets: dict[str, uuid.UUID] = field(default_factory=dict)


def build(run: Runner, owner: Account, technician: Account) -> World:
    """Insert the month (see each ticket's comment)."""
    assert owner.client_id is not None
    w = World(client_id=owner.client_id, technician=technician.id)
    client = w.client_id
    rows: list[tuple[Any, dict[str, Any]]] = []

    def add(model: Any, **values: Any) -> uuid.UUID:
        values.setdefault("id", uuid7())
        if hasattr(model, "client_id") and "client_id" not in values:
            values["client_id"] = client
        rows.append((model, values))
        return uuid.UUID(str(values["id"]))

    add(Locale, id=w.providencia, name="Providencia", timezone="America/Santiago")
    add(Locale, id=w.punta_arenas, name="Punta Arenas", timezone="America/Punta_Arenas")
    for asset_id, name, category, locale in (
        (w.chiller, "Chiller", "hvac", w.providencia),
        (w.pump, "Bomba", "plumbing", w.punta_arenas),
        (w.boiler, "Caldera", "hvac", w.providencia),
    ):
        add(
            Asset,
            id=asset_id,
            name=name,
            category=category,
            locale_id=locale,
            qr_code=uuid.uuid4().hex,
            status=AssetStatus.operational,
        )
    add(
        AssetMaintenancePlan,
        id=w.plan,
        locale_id=w.providencia,
        asset_id=w.chiller,
        name="Mantención chiller",
        interval_unit="week",
        interval_count=1,
    )
    add(
        AssetMaintenancePlan,
        id=w.idle_plan,
        locale_id=w.providencia,
        asset_id=w.chiller,
        name="Plan pausado",
        is_active=False,
    )
    number = 0

    def ticket(
        key: str,
        locale: uuid.UUID,
        asset: uuid.UUID | None,
        moves: list[tuple[S, datetime]],
        **values: Any,
    ) -> uuid.UUID:
        nonlocal number
        number += 1
        final = moves[-1][0]
        stamps: dict[str, Any] = {}
        for status, at in moves:
            if status is S.accepted and "responded_at" not in stamps:
                stamps["responded_at"] = at
            if status is S.resolved:
                stamps["resolved_at"] = at
            if status is S.completed:
                stamps["completed_at"] = at
            if status is S.cancelled:
                stamps["cancelled_at"] = at
        ticket_id = add(
            ServiceTicket,
            number=number,
            title=key,
            locale_id=locale,
            asset_id=asset,
            status=final,
            created_at=moves[0][1],
            updated_at=moves[-1][1],
            **{**stamps, **values},
        )
        previous = None
        for status, at in moves:
            add(
                TicketHistory,
                locale_id=locale,
                ticket_id=ticket_id,
                from_status=previous,
                to_status=status,
                created_at=at,
            )
            previous = status
        w.tickets[key] = ticket_id
        return ticket_id

    # K1, Providencia, chiller: works 14:00Z Apr 3 → completed Apr 5 03:30Z, which is Apr 4
    # 23:30 local (UTC-4 since 03:00Z that night); on hold 15:00 → 17:00 (2 h).
    # Repair 37.5 h - 2 h = 35.5 h; response 12:00 → 13:00 = 1 h.
    ticket(
        "K1",
        w.providencia,
        w.chiller,
        [
            (S.open, z(4, 3, 12)),
            (S.assigned, z(4, 3, 12, 30)),
            (S.accepted, z(4, 3, 13)),
            (S.in_progress, z(4, 3, 14)),
            (S.on_hold, z(4, 3, 15)),
            (S.in_progress, z(4, 3, 17)),
            (S.resolved, z(4, 3, 18)),
            (S.completed, z(4, 5, 3, 30)),
        ],
        technician_id=w.technician,
        priority=TicketPriority.high,
        parts_cost_minor=1000,
        sla_response_due_at=z(4, 3, 13, 30),
        sla_resolution_due_at=z(4, 4, 12),
        sla_resolution_breached=True,
    )
    # K2, Providencia, chiller, reopened: works Apr 6 14:00 → completed Apr 8 16:00 (50 h),
    # waiting for parts Apr 7 14:00 → Apr 8 14:00 (24 h): repair 26 h; response 0.5 h.
    ticket(
        "K2",
        w.providencia,
        w.chiller,
        [
            (S.open, z(4, 6, 13)),
            (S.assigned, z(4, 6, 13, 10)),
            (S.accepted, z(4, 6, 13, 30)),
            (S.in_progress, z(4, 6, 14)),
            (S.resolved, z(4, 6, 16)),
            (S.reopened, z(4, 7, 12)),
            (S.in_progress, z(4, 7, 13)),
            (S.waiting_parts, z(4, 7, 14)),
            (S.in_progress, z(4, 8, 14)),
            (S.resolved, z(4, 8, 15)),
            (S.completed, z(4, 8, 16)),
        ],
        technician_id=w.technician,
        parts_cost_minor=99_999,  # movements win over this
        sla_response_due_at=z(4, 6, 14),
        sla_resolution_due_at=z(4, 9, 13),
    )
    # K3, Punta Arenas, pump, spans March and April: accepted Mar 25 (1 h, March's), works
    # Mar 26 12:00 → completed Apr 2 12:00: repair 168 h, in April. A follow-up ticket (K4)
    # came of it: not a first-time fix.
    k3 = ticket(
        "K3",
        w.punta_arenas,
        w.pump,
        [
            (S.open, z(3, 25, 12)),
            (S.accepted, z(3, 25, 13)),
            (S.in_progress, z(3, 26, 12)),
            (S.completed, z(4, 2, 12)),
        ],
        parts_cost_minor=2000,
    )
    # K4, Punta Arenas, pump: completed May 1 03:30Z = May 1 00:30 local (UTC-3): not April's
    # (it would be in Santiago). Response 0.5 h.
    k4 = ticket(
        "K4",
        w.punta_arenas,
        w.pump,
        [
            (S.open, z(4, 20, 12)),
            (S.accepted, z(4, 20, 12, 30)),
            (S.in_progress, z(4, 20, 13)),
            (S.completed, z(5, 1, 3, 30)),
        ],
        parts_cost_minor=5000,
        sla_response_due_at=z(5, 1, 3, 30),
        sla_response_breached=True,
    )
    add(TicketTask, locale_id=w.punta_arenas, ticket_id=k3, label="Revisar", follow_up_ticket_id=k4)
    # K5, Providencia, no asset: completed May 1 03:30Z = Apr 30 23:30 local: April's.
    # Repair Apr 29 13:00 → May 1 03:30 = 38.5 h; response 0.25 h.
    ticket(
        "K5",
        w.providencia,
        None,
        [
            (S.open, z(4, 29, 12)),
            (S.accepted, z(4, 29, 12, 15)),
            (S.in_progress, z(4, 29, 13)),
            (S.completed, z(5, 1, 3, 30)),
        ],
        parts_cost_minor=7000,
    )
    # K6, Providencia, chiller, cancelled: in no metric but the costs (its labour) and the
    # backlog while it was open.
    ticket(
        "K6",
        w.providencia,
        w.chiller,
        [(S.open, z(4, 10, 12)), (S.accepted, z(4, 10, 12, 30)), (S.cancelled, z(4, 11, 12))],
        sla_response_due_at=z(4, 10, 13),
        sla_response_breached=True,
    )
    # K7, the plan's ticket: completed Apr 14 18:00, before its occurrence's due time.
    k7 = ticket(
        "K7",
        w.providencia,
        w.chiller,
        [(S.open, z(4, 14, 12)), (S.in_progress, z(4, 14, 14)), (S.completed, z(4, 14, 18))],
        maintenance_plan_id=w.plan,
        source="plan",
    )
    # K8, Providencia, open since December 2025: in every backlog, over 90 days old.
    ticket("K8", w.providencia, None, [(S.open, z(12, 1, 12, year=2025))])
    # K9, Providencia, boiler: completed Sep 7 03:30Z = Sep 7 00:30 local (UTC-3 again since
    # Sep 6 04:00Z); repair 02:00 → 03:30 = 1.5 h.
    ticket(
        "K9",
        w.providencia,
        w.boiler,
        [(S.open, z(9, 7, 1)), (S.in_progress, z(9, 7, 2)), (S.completed, z(9, 7, 3, 30))],
    )

    # Occurrences: due Apr 15 (done on time by K7), Apr 22 (no ticket: overdue), May 10.
    for key, due, ticket_id in (
        ("a", z(4, 15, 12), k7),
        ("b", z(4, 22, 12), None),
        ("c", z(5, 10, 12), None),
    ):
        add(
            PlanOccurrence,
            locale_id=w.providencia,
            plan_id=w.plan,
            occurrence_key=f"date:{key}",
            due_at=due,
            ticket_id=ticket_id,
        )
    add(
        PlanOccurrence,
        locale_id=w.providencia,
        plan_id=w.idle_plan,
        occurrence_key="date:x",
        due_at=z(4, 2, 12),
    )

    # Status: chiller down Apr 3 12:00 → Apr 5 03:30 (39.5 h) and Apr 7 12:00 → Apr 8 16:00
    # (28 h); pump down Apr 20 12:00 → May 1 03:30; boiler down for the 23 hours of Sep 6.
    for asset_id, status, at in (
        (w.chiller, AssetStatus.operational, z(3, 1)),
        (w.chiller, AssetStatus.down, z(4, 3, 12)),
        (w.chiller, AssetStatus.operational, z(4, 5, 3, 30)),
        (w.chiller, AssetStatus.down, z(4, 7, 12)),
        (w.chiller, AssetStatus.operational, z(4, 8, 16)),
        (w.pump, AssetStatus.operational, z(3, 1)),
        (w.pump, AssetStatus.down, z(4, 20, 12)),
        (w.pump, AssetStatus.operational, z(5, 1, 3, 30)),
        (w.boiler, AssetStatus.operational, z(9, 1)),
        (w.boiler, AssetStatus.down, z(9, 6, 4)),
        (w.boiler, AssetStatus.operational, z(9, 7, 3)),
    ):
        locale = w.punta_arenas if asset_id == w.pump else w.providencia
        add(AssetStatusChange, locale_id=locale, asset_id=asset_id, to_status=status, changed_at=at)

    # Work logs (12.000 CLP an hour): K1 240 min of work; K3 60 min starting Apr 1 02:30Z
    # (Mar 31 23:30 in both zones: March's); K6 (cancelled) 36 min; K2 20 min of travel.
    for ticket_key, locale, started, minutes, category in (
        ("K1", w.providencia, z(4, 3, 14), 240, WorkLogCategory.work),
        ("K3", w.punta_arenas, z(4, 1, 2, 30), 60, WorkLogCategory.work),
        ("K6", w.providencia, z(4, 10, 13), 36, WorkLogCategory.work),
        ("K2", w.providencia, z(4, 6, 13, 30), 20, WorkLogCategory.travel),
    ):
        add(
            TicketWorkLog,
            locale_id=locale,
            ticket_id=w.tickets[ticket_key],
            technician_id=w.technician,
            category=category,
            started_at=started,
            ended_at=started,
            minutes=minutes,
            hourly_rate_minor=12_000,
            cost_minor=minutes * 12_000 // 60,
        )
    # Shifts: two working days of 8 h, and a day off.
    for starts, ends, kind in (
        (z(4, 3, 12), z(4, 3, 20), ShiftType.working),
        (z(4, 6, 12), z(4, 6, 20), ShiftType.working),
        (z(4, 7, 12), z(4, 7, 20), ShiftType.day_off),
    ):
        add(
            TechnicianShift,
            technician_id=w.technician,
            shift_type=kind,
            starts_at=starts,
            ends_at=ends,
        )

    # Parts of K2 from the ledger: 2 issued at 15.000 (30.000), 0.5 returned (-7.500).
    product = add(
        Product, sku="FLT-1", name="Filtro", unit="unit", category=ProductCategory.spare_part
    )
    warehouse = add(Warehouse, code="BOD", name="Bodega", kind=WarehouseKind.central)
    for kind, quantity, at in (
        (MovementKind.issue, -2, z(4, 7, 14)),
        (MovementKind.return_, 0.5, z(4, 8, 15)),
    ):
        add(
            InventoryMovement,
            warehouse_id=warehouse,
            product_id=product,
            kind=kind,
            quantity=quantity,
            unit_cost_minor=15_000,
            document_kind=MovementDocument.ticket,
            document_id=w.tickets["K2"],
            created_at=at,
        )

    # IoT: the chiller's device and rule; alarms at Apr 3 11:00, Apr 30 03:30 (Apr 29 local),
    # May 1 03:30 (Apr 30 local) and Mar 31 03:30 (Mar 31 00:30 local: March's).
    add(
        IoTDevice,
        id=w.device,
        locale_id=w.providencia,
        asset_id=w.chiller,
        name="Sensor T",
        device_type="temperature",
        unit="C",
        serial_number="SN-1",
        credential_prefix=uuid.uuid4().hex[:12],
        credential_hash=uuid.uuid4().hex,
    )
    add(
        IoTDevice,
        id=w.quiet_device,
        locale_id=w.punta_arenas,
        asset_id=w.pump,
        name="Sensor P",
        device_type="pressure",
        unit="bar",
        serial_number="SN-2",
        credential_prefix=uuid.uuid4().hex[:12],
        credential_hash=uuid.uuid4().hex,
    )
    add(IoTRule, id=w.rule, device_id=w.device, name="Alta temperatura", metric="t", kind="above")
    for at in (z(4, 3, 11), z(4, 30, 3, 30), z(5, 1, 3, 30), z(3, 31, 3, 30)):
        add(
            Event,
            type="sensor.alert",
            subject_type="iot_rule",
            subject_id=w.rule,
            locale_id=w.providencia,
            created_at=at,
            payload={},
        )
    # Readings: Apr 1 00:30 and 01:00 local, Apr 2 09:00 local; Mar 31 23:30 local (March's).
    for number_, at in enumerate((z(4, 1, 3, 30), z(4, 1, 4), z(4, 2, 12), z(4, 1, 2, 30))):
        rows.append(
            (
                IoTReading,
                {
                    "device_id": w.device,
                    "metric": "t",
                    "value": 4.0 + number_,
                    "device_time": at,
                    "received_at": at,
                },
            )
        )

    async def create(session: AsyncSession) -> None:
        for model, values in rows:
            await session.execute(insert(model).values(**values))

    run(create)
    return w


def technician_of(run: Runner, account: Account) -> None:
    """Give the technician Santiago as their own time zone (the default, said here)."""

    async def set_zone(session: AsyncSession) -> None:
        user = await session.get(User, account.id)
        assert user is not None and user.role is UserRole.technician
        user.timezone = "America/Santiago"

    run(set_zone)
