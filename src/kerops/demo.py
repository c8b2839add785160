"""Demo data: a platform admin, a client with two locales, its people, a vendor, and the client's
assets, parts, plans, devices, shifts, licences and tickets (idempotent)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets import plans
from kerops.assets.models import Asset, AssetBOM, AssetMaintenancePlan, AssetStatusChange
from kerops.config import Settings
from kerops.core.audit import set_audit_context
from kerops.core.db import Database
from kerops.core.enums import (
    AssetStatus,
    LocalRole,
    ProductCategory,
    ShiftType,
    SubscriptionPlan,
    TicketPriority,
    TicketStatus,
    UserRole,
)
from kerops.core.principal import AuditContext
from kerops.core.security import Security, hash_token
from kerops.core.types import utcnow, uuid7
from kerops.inventory.models import Product
from kerops.iot import service as iot_service
from kerops.iot.models import IoTDevice
from kerops.operations import numbering as ticket_numbering
from kerops.operations import sla, workflows
from kerops.operations.models import ServiceTicket, SlaPolicy, TicketHistory
from kerops.system.models import AppVersion
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.users.models import User, Vendor
from kerops.workforce.models import TechnicianCertification, TechnicianShift

DEMO_PASSWORD = "Demo-Maint-2026"


@dataclass(frozen=True)
class DemoLogin:
    """One demo account to print at start-up."""

    email: str
    role: str


DEMO_LOGINS = [
    DemoLogin("admin@kerops.demo", "platform staff (super admin)"),
    DemoLogin("owner@acme.demo", "client owner (Acme Retail)"),
    DemoLogin("manager@acme.demo", "site manager of Acme Providencia"),
    DemoLogin("requester@acme.demo", "requester at Acme Providencia"),
    DemoLogin("tech@acme.demo", "in-house technician of Acme"),
    DemoLogin("vendor.admin@frio.demo", "vendor admin of Frío Sur SpA"),
]


async def load_demo(session: AsyncSession, security: Security) -> bool:
    """Insert the demo data unless it is already there; returns whether anything was added."""
    existing = (
        await session.execute(select(User).where(User.email == "owner@acme.demo"))
    ).scalar_one_or_none()
    if existing is not None:
        return await _load_step2(session, existing)
    pw = security.hash_password(DEMO_PASSWORD)
    admin = User(
        email="admin@kerops.demo",
        full_name="KER Admin",
        password_hash=pw,
        role=UserRole.super_admin,
    )
    owner_id = uuid7()
    owner = User(
        id=owner_id,
        email="owner@acme.demo",
        full_name="Carolina Rojas",
        password_hash=pw,
        role=UserRole.client_owner,
        client_id=owner_id,
        plan=SubscriptionPlan.pro,
    )
    session.add_all([admin, owner])
    await session.flush()
    vendor = Vendor(
        name="Frío Sur SpA",
        rut="76.086.428-5",
        contact_name="Pedro Soto",
        contact_email="contacto@frio.demo",
        contact_phone="+56 2 2345 6789",
    )
    session.add(vendor)
    await session.flush()
    manager = User(
        email="manager@acme.demo",
        full_name="Matías González",
        password_hash=pw,
        role=UserRole.client_member,
        client_id=owner_id,
    )
    requester = User(
        email="requester@acme.demo",
        full_name="Valentina Muñoz",
        password_hash=pw,
        role=UserRole.client_member,
        client_id=owner_id,
    )
    tech = User(
        email="tech@acme.demo",
        full_name="José Pérez",
        password_hash=pw,
        role=UserRole.technician,
        client_id=owner_id,
        skills=["electricity", "hvac"],
    )
    vendor_admin = User(
        email="vendor.admin@frio.demo",
        full_name="Pedro Soto",
        password_hash=pw,
        role=UserRole.vendor_admin,
        vendor_id=vendor.id,
    )
    session.add_all([manager, requester, tech, vendor_admin])
    providencia = Locale(
        client_id=owner_id,
        name="Acme Providencia",
        code="PRV",
        address="Av. Providencia 1234",
        city="Santiago",
        region="Región Metropolitana",
        latitude=-33.4263,
        longitude=-70.6170,
    )
    vina = Locale(
        client_id=owner_id,
        name="Acme Viña del Mar",
        code="VIN",
        address="Av. Libertad 500",
        city="Viña del Mar",
        region="Valparaíso",
        latitude=-33.0153,
        longitude=-71.5500,
    )
    session.add_all([providencia, vina])
    await session.flush()
    floor = LocalArea(
        client_id=owner_id, locale_id=providencia.id, name="Piso 1", kind="floor", code="P1"
    )
    session.add(floor)
    await session.flush()
    session.add_all(
        [
            LocalArea(
                client_id=owner_id,
                locale_id=providencia.id,
                parent_id=floor.id,
                name="Sala de máquinas",
                kind="room",
            ),
            LocalArea(
                client_id=owner_id,
                locale_id=providencia.id,
                parent_id=floor.id,
                name="Sala de ventas",
                kind="zone",
            ),
            LocalMember(
                client_id=owner_id,
                locale_id=providencia.id,
                user_id=manager.id,
                role=LocalRole.manager,
            ),
            LocalMember(
                client_id=owner_id,
                locale_id=providencia.id,
                user_id=requester.id,
                role=LocalRole.requester,
            ),
            AppVersion(platform="android", version="2.3.0", min_supported_version="2.0.0"),
            AppVersion(platform="ios", version="2.3.0", min_supported_version="2.0.0"),
        ]
    )
    await session.flush()
    await _load_step2(session, owner)
    return True


# --- Step 2: assets, parts, plans, devices, shifts, licences and tickets of Acme -----------------

SANTIAGO = ZoneInfo("America/Santiago")

#: (locale code, area name or None, name, category, make, model, serial, status, criticality)
DEMO_ASSETS: list[tuple[str, str | None, str, str, str, str, str, AssetStatus, int]] = [
    (
        "PRV",
        "Sala de máquinas",
        "Chiller 1",
        "chiller",
        "Carrier",
        "30RB-160",
        "CR30RB-2201",
        AssetStatus.operational,
        5,
    ),
    (
        "PRV",
        "Sala de máquinas",
        "Chiller 2",
        "chiller",
        "Trane",
        "CGAM-080",
        "TR-CG-8817",
        AssetStatus.maintenance,
        5,
    ),
    (
        "PRV",
        "Sala de máquinas",
        "Tablero general TG-1",
        "electrical_panel",
        "Schneider Electric",
        "Prisma G",
        "SE-PG-44120",
        AssetStatus.operational,
        5,
    ),
    (
        "PRV",
        "Sala de máquinas",
        "Tablero de fuerza TF-2",
        "electrical_panel",
        "ABB",
        "ArTu K",
        "ABB-AK-00918",
        AssetStatus.operational,
        4,
    ),
    (
        "PRV",
        "Sala de máquinas",
        "Grupo electrógeno",
        "generator",
        "Cummins",
        "C150D5",
        "CU-C150-7731",
        AssetStatus.operational,
        4,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Unidad manejadora UMA-1",
        "hvac",
        "York",
        "YMA-20",
        "YK-UMA-5510",
        AssetStatus.operational,
        4,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Split cajas 1",
        "hvac",
        "Daikin",
        "FTXS50K",
        "DK-FTX-30211",
        AssetStatus.operational,
        2,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Split cajas 2",
        "hvac",
        "Daikin",
        "FTXS50K",
        "DK-FTX-30212",
        AssetStatus.down,
        2,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Vitrina refrigerada lácteos",
        "refrigeration",
        "Fogel",
        "Sierra 250",
        "FG-S250-1207",
        AssetStatus.operational,
        4,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Vitrina refrigerada carnes",
        "refrigeration",
        "Fogel",
        "Sierra 250",
        "FG-S250-1208",
        AssetStatus.operational,
        4,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Cámara de frío 1",
        "refrigeration",
        "Bohn",
        "BHT-035",
        "BH-BHT-6620",
        AssetStatus.operational,
        5,
    ),
    (
        "PRV",
        "Sala de ventas",
        "Iluminación LED sala",
        "lighting",
        "Philips",
        "CoreLine RC132V",
        "PH-RC-2024-01",
        AssetStatus.operational,
        2,
    ),
    (
        "VIN",
        "Bodega",
        "Chiller Viña",
        "chiller",
        "Carrier",
        "30RB-100",
        "CR30RB-3105",
        AssetStatus.operational,
        5,
    ),
    (
        "VIN",
        "Bodega",
        "Tablero general TG-V",
        "electrical_panel",
        "Schneider Electric",
        "Prisma G",
        "SE-PG-45877",
        AssetStatus.operational,
        5,
    ),
    (
        "VIN",
        "Bodega",
        "Cámara de congelados",
        "refrigeration",
        "Bohn",
        "BHL-060",
        "BH-BHL-7702",
        AssetStatus.operational,
        5,
    ),
    (
        "VIN",
        "Bodega",
        "Compresor rack de frío",
        "refrigeration",
        "Bitzer",
        "4CES-9Y",
        "BZ-4CES-1190",
        AssetStatus.operational,
        4,
    ),
    (
        "VIN",
        "Sala de ventas Viña",
        "Rooftop RTU-1",
        "hvac",
        "Lennox",
        "LGH180",
        "LX-LGH-4412",
        AssetStatus.operational,
        4,
    ),
    (
        "VIN",
        "Sala de ventas Viña",
        "Cortina de aire acceso",
        "hvac",
        "Frigoglass",
        "CA-150",
        "FGL-CA-0331",
        AssetStatus.operational,
        2,
    ),
    (
        "VIN",
        "Sala de ventas Viña",
        "Vitrina refrigerada Viña",
        "refrigeration",
        "Fogel",
        "Sierra 300",
        "FG-S300-0456",
        AssetStatus.operational,
        3,
    ),
    (
        "VIN",
        "Sala de ventas Viña",
        "Iluminación LED Viña",
        "lighting",
        "Philips",
        "CoreLine RC132V",
        "PH-RC-2024-02",
        AssetStatus.operational,
        2,
    ),
]

#: (sku, name, unit, price in CLP)
DEMO_PRODUCTS = [
    ("FIL-G4-592", "Filtro de aire G4 592x592", "unit", 18_900),
    ("COR-B52", "Correa en V B-52", "unit", 12_500),
    ("GAS-R410A-11", "Refrigerante R-410A (cilindro 11,3 kg)", "unit", 189_000),
    ("INT-C60-3P32", "Interruptor termomagnético 3P 32 A", "unit", 46_700),
    ("CON-45-5", "Capacitor de marcha 45/5 µF", "unit", 9_800),
]

#: (asset name, sku, quantity)
DEMO_BOM = [
    ("Chiller 1", "FIL-G4-592", 4),
    ("Chiller 1", "COR-B52", 2),
    ("Unidad manejadora UMA-1", "FIL-G4-592", 6),
    ("Unidad manejadora UMA-1", "COR-B52", 1),
    ("Split cajas 2", "CON-45-5", 1),
    ("Split cajas 2", "GAS-R410A-11", 1),
    ("Tablero general TG-1", "INT-C60-3P32", 3),
]


def _santiago(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SANTIAGO).astimezone(UTC)


async def _load_step2(session: AsyncSession, owner: User) -> bool:
    """Assets, parts, plans, devices, shifts, licences and tickets of Acme (once)."""
    client_id = owner.client_id
    assert client_id is not None
    loaded = select(
        exists().where(Asset.client_id == client_id)
        | exists().where(Product.client_id == client_id)
        | exists().where(ServiceTicket.client_id == client_id)
    )
    if (await session.execute(loaded)).scalar():
        return False
    users = {
        u.email: u
        for u in (await session.execute(select(User).where(User.client_id == client_id))).scalars()
    }
    tech, manager, requester = (
        users["tech@acme.demo"],
        users["manager@acme.demo"],
        users["requester@acme.demo"],
    )
    locales = {
        loc.code: loc
        for loc in (
            await session.execute(select(Locale).where(Locale.client_id == client_id))
        ).scalars()
    }
    vina = locales["VIN"]
    session.add_all(
        [
            LocalArea(client_id=client_id, locale_id=vina.id, name="Bodega", kind="room"),
            LocalArea(
                client_id=client_id, locale_id=vina.id, name="Sala de ventas Viña", kind="zone"
            ),
        ]
    )
    await session.flush()
    areas = {
        (a.locale_id, a.name): a.id
        for a in (
            await session.execute(select(LocalArea).where(LocalArea.client_id == client_id))
        ).scalars()
    }
    now = utcnow()
    today = now.astimezone(SANTIAGO).date()
    assets: dict[str, Asset] = {}
    for code, area, name, category, make, model, serial, status, criticality in DEMO_ASSETS:
        locale = locales[code]
        asset = Asset(
            client_id=client_id,
            locale_id=locale.id,
            area_id=areas.get((locale.id, area)) if area else None,
            name=name,
            category=category,
            make=make,
            model=model,
            serial_number=serial,
            status=status,
            criticality=criticality,
            install_date=date(2021 + len(assets) % 4, 1 + len(assets) % 12, 15),
            meter_readings={"run_hours": 4200.0} if category == "chiller" else {},
            qr_code=secrets.token_urlsafe(24),
        )
        assets[name] = asset
    session.add_all(assets.values())
    await session.flush()
    down = assets["Split cajas 2"]
    session.add_all(
        [
            AssetStatusChange(
                client_id=client_id,
                locale_id=a.locale_id,
                asset_id=a.id,
                from_status=None,
                to_status=AssetStatus.operational if a is down else a.status,
                changed_at=now - timedelta(days=30),
                changed_by_id=owner.id,
            )
            for a in assets.values()
        ]
    )
    session.add(
        AssetStatusChange(
            client_id=client_id,
            locale_id=down.locale_id,
            asset_id=down.id,
            from_status=AssetStatus.operational,
            to_status=AssetStatus.down,
            changed_at=now - timedelta(days=2),
            changed_by_id=manager.id,
            reason="No enfría; compresor no arranca",
        )
    )
    products = {
        sku: Product(
            client_id=client_id,
            category=ProductCategory.spare_part,
            sku=sku,
            name=name,
            unit=unit,
            price_minor=price,
            cost_minor=price * 7 // 10,
            currency="CLP",
        )
        for sku, name, unit, price in DEMO_PRODUCTS
    }
    session.add_all(products.values())
    await session.flush()
    for asset_name, sku, quantity in DEMO_BOM:
        asset = assets[asset_name]
        session.add(
            AssetBOM(
                client_id=client_id,
                locale_id=asset.locale_id,
                asset_id=asset.id,
                product_id=products[sku].id,
                quantity=quantity,
            )
        )
    chiller, panel, cold_room = (
        assets["Chiller 1"],
        assets["Tablero general TG-1"],
        assets["Cámara de frío 1"],
    )
    monthly = AssetMaintenancePlan(
        client_id=client_id,
        locale_id=chiller.locale_id,
        asset_id=chiller.id,
        name="Mantención mensual chiller",
        description="Limpieza de filtros, revisión de presiones y correas.",
        trigger="date",
        interval_unit="month",
        interval_count=1,
        anchor="calendar",
        start_date=today.replace(day=1),
        lead_time_days=3,
        checklist_template=[
            {"label": "Limpiar filtros", "kind": "check"},
            {"label": "Presión de succión (psi)", "kind": "number", "min": 40, "max": 80},
        ],
        default_priority=TicketPriority.medium,
        required_skill="hvac",
        default_assignee_id=tech.id,
    )
    quarterly = AssetMaintenancePlan(
        client_id=client_id,
        locale_id=panel.locale_id,
        asset_id=panel.id,
        name="Termografía trimestral tablero",
        description="Termografía y reapriete de conexiones.",
        trigger="date",
        interval_unit="month",
        interval_count=3,
        anchor="calendar",
        start_date=today.replace(day=1),
        lead_time_days=7,
        checklist_template=[{"label": "Puntos calientes", "kind": "pass_fail"}],
        default_priority=TicketPriority.high,
        required_skill="electricity",
        default_assignee_id=tech.id,
    )
    by_hours = AssetMaintenancePlan(
        client_id=client_id,
        locale_id=chiller.locale_id,
        asset_id=chiller.id,
        name="Cambio de aceite cada 2000 horas",
        trigger="meter",
        meter_name="run_hours",
        meter_interval=2000.0,
        next_meter_due=6000.0,
        default_priority=TicketPriority.medium,
        required_skill="hvac",
    )
    for plan in (monthly, quarterly):
        found = plans.due_occurrences(plan, SANTIAGO, after=now, limit=1)
        plan.next_due_at = found[0].due_at if found else None
    session.add_all([monthly, quarterly, by_hours])
    for asset, name, kind, unit, serial, low, high in (
        (cold_room, "Sensor temperatura cámara 1", "temperature", "°C", "KD-T-0001", -2.0, 6.0),
        (chiller, "Medidor energía chiller 1", "energy", "kWh", "KD-E-0002", None, None),
        (
            assets["Cámara de congelados"],
            "Sensor temperatura congelados",
            "temperature",
            "°C",
            "KD-T-0003",
            -25.0,
            -15.0,
        ),
    ):
        credential, prefix = iot_service.new_credential()
        session.add(
            IoTDevice(
                client_id=client_id,
                locale_id=asset.locale_id,
                asset_id=asset.id,
                name=name,
                device_type=kind,
                unit=unit,
                serial_number=serial,
                min_threshold=low,
                max_threshold=high,
                status="active",
                last_seen_at=now - timedelta(minutes=5),
                credential_prefix=prefix,
                credential_hash=hash_token(credential),
            )
        )
    monday = today - timedelta(days=today.weekday())
    for offset in range(5):
        day = monday + timedelta(days=offset)
        session.add(
            TechnicianShift(
                technician_id=tech.id,
                client_id=client_id,
                shift_type=ShiftType.working,
                starts_at=_santiago(day, 8),
                ends_at=_santiago(day, 17),
            )
        )
    session.add_all(
        [
            TechnicianCertification(
                technician_id=tech.id,
                client_id=client_id,
                cert_type="sec_class_b",
                number="SEC-B-458812",
                issuer="Superintendencia de Electricidad y Combustibles",
                issued_date=today - timedelta(days=400),
                expires_date=today + timedelta(days=1060),
                verified_by_id=owner.id,
                verified_at=now - timedelta(days=90),
            ),
            TechnicianCertification(
                technician_id=tech.id,
                client_id=client_id,
                cert_type="sec_gas",
                number="SEC-GAS-77120",
                issuer="Superintendencia de Electricidad y Combustibles",
                issued_date=today - timedelta(days=1075),
                expires_date=today + timedelta(days=20),
            ),
        ]
    )
    await session.flush()
    await _demo_tickets(session, client_id, assets, requester, manager, tech, now)
    return True


#: (asset, title, priority, final status, days ago)
DEMO_TICKETS = [
    ("Split cajas 2", "Split de cajas no enfría", TicketPriority.high, TicketStatus.open, 1),
    (
        "Iluminación LED sala",
        "Luminarias apagadas pasillo 3",
        TicketPriority.low,
        TicketStatus.open,
        2,
    ),
    ("Chiller 2", "Ruido anormal en compresor", TicketPriority.high, TicketStatus.assigned, 2),
    (
        "Vitrina refrigerada carnes",
        "Vitrina no mantiene 4 °C",
        TicketPriority.critical,
        TicketStatus.in_progress,
        1,
    ),
    (
        "Tablero de fuerza TF-2",
        "Disparo reiterado de protección",
        TicketPriority.medium,
        TicketStatus.in_progress,
        3,
    ),
    (
        "Rooftop RTU-1",
        "Goteo de condensado en sala",
        TicketPriority.medium,
        TicketStatus.resolved,
        6,
    ),
    ("Cámara de frío 1", "Hielo en evaporador", TicketPriority.high, TicketStatus.completed, 12),
    (
        "Tablero general TG-V",
        "Cambio de interruptor dañado",
        TicketPriority.medium,
        TicketStatus.completed,
        20,
    ),
]

#: The moves of the default workflow that lead to each demo status, and who takes them.
_PATHS: dict[TicketStatus, list[tuple[TicketStatus, str]]] = {
    TicketStatus.open: [],
    TicketStatus.assigned: [(TicketStatus.assigned, "manager")],
    TicketStatus.in_progress: [
        (TicketStatus.assigned, "manager"),
        (TicketStatus.accepted, "tech"),
        (TicketStatus.in_progress, "tech"),
    ],
    TicketStatus.resolved: [
        (TicketStatus.assigned, "manager"),
        (TicketStatus.accepted, "tech"),
        (TicketStatus.in_progress, "tech"),
        (TicketStatus.resolved, "tech"),
    ],
    TicketStatus.completed: [
        (TicketStatus.assigned, "manager"),
        (TicketStatus.accepted, "tech"),
        (TicketStatus.in_progress, "tech"),
        (TicketStatus.resolved, "tech"),
        (TicketStatus.completed, "manager"),
    ],
}


#: The demo client's SLA: (response, resolution) minutes per priority.
DEMO_SLA_TARGETS: dict[TicketPriority, tuple[int, int]] = {
    TicketPriority.critical: (30, 4 * 60),
    TicketPriority.high: (2 * 60, 12 * 60),
    TicketPriority.medium: (8 * 60, 48 * 60),
    TicketPriority.low: (24 * 60, 120 * 60),
}


async def _demo_tickets(
    session: AsyncSession,
    client_id: uuid.UUID,
    assets: dict[str, Asset],
    requester: User,
    manager: User,
    tech: User,
    now: datetime,
) -> None:
    workflow = await workflows.ensure_default_workflow(session, client_id)
    policy = SlaPolicy(
        client_id=client_id,
        name="Retail stores",
        targets={
            priority.value: {"response_minutes": response, "resolution_minutes": resolution}
            for priority, (response, resolution) in DEMO_SLA_TARGETS.items()
        },
        warning_percent=75,
    )
    session.add(policy)
    await session.flush()
    actors = {"manager": manager.id, "tech": tech.id}
    for asset_name, title, priority, status, days_ago in DEMO_TICKETS:
        asset = assets[asset_name]
        created = now - timedelta(days=days_ago, hours=3)
        due = sla.deadlines_from(policy, priority, created)
        path = _PATHS[status]
        ticket = ServiceTicket(
            client_id=client_id,
            number=await ticket_numbering.next_ticket_number(session, client_id),
            title=title,
            description=f"{title}. Reportado por el personal del local.",
            locale_id=asset.locale_id,
            area_id=asset.area_id,
            asset_id=asset.id,
            requester_id=requester.id,
            technician_id=tech.id if path else None,
            workflow_id=workflow.id,
            priority=priority,
            status=status,
            source="manual",
            **due.columns(),
            created_at=created,
            updated_at=created,
        )
        session.add(ticket)
        await session.flush()
        session.add(
            TicketHistory(
                client_id=client_id,
                locale_id=ticket.locale_id,
                ticket_id=ticket.id,
                from_status=None,
                to_status=TicketStatus.open,
                actor_id=requester.id,
                comment="",
                created_at=created,
            )
        )
        current, at = TicketStatus.open, created
        for to_status, actor in path:
            at += timedelta(hours=2)
            session.add(
                TicketHistory(
                    client_id=client_id,
                    locale_id=ticket.locale_id,
                    ticket_id=ticket.id,
                    from_status=current,
                    to_status=to_status,
                    actor_id=actors[actor],
                    comment="",
                    created_at=at,
                )
            )
            if to_status is TicketStatus.accepted:
                ticket.responded_at = at
            elif to_status is TicketStatus.resolved:
                ticket.resolved_at = at
            elif to_status is TicketStatus.completed:
                ticket.completed_at = at
            current = to_status
        ticket.updated_at = at
    await session.flush()


async def run_demo(settings: Settings) -> bool:
    """Load the demo data into the configured database."""
    db = Database(settings)
    try:
        async with db.sessions() as session:
            set_audit_context(session.sync_session, AuditContext(request_id="demo"))
            added = await load_demo(session, Security(settings))
            await session.commit()
        return added
    finally:
        await db.dispose()
