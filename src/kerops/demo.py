"""Demo data: a platform admin, a client with two locales, its people, a vendor, and the client's
assets, parts, plans, devices, shifts, licences and tickets (idempotent).

Everything is created through the domain services, acting as the person who would do it (the
owner, a manager, the technician, platform staff), so every access rule, plan limit, audit row,
event and numbering rule applies to the demo as to a request. The few fields the services cannot
set (the first staff account, passwords of invited people, the client's plan, backdated ticket
history) are adjusted afterwards, each with its reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops import demo_history
from kerops.assets import plans as plans_service
from kerops.assets import service as assets_service
from kerops.assets.models import Asset
from kerops.assets.plans_schemas import PlanCreate
from kerops.assets.schemas import AssetCreate, AssetUpdate, BomLineCreate
from kerops.auth import service as auth_service
from kerops.config import Settings
from kerops.core import jobs, row_scope
from kerops.core.audit import set_audit_context
from kerops.core.enums import (
    AssetStatus,
    LocalRole,
    MovementDocument,
    MovementKind,
    ProductCategory,
    ShiftType,
    SubscriptionPlan,
    TechnicianSkill,
    TicketPriority,
    TicketStatus,
    UserRole,
    WarehouseKind,
    WorkLogCategory,
)
from kerops.core.principal import AuditContext, Principal
from kerops.core.state import AppState
from kerops.core.types import utcnow
from kerops.inventory import ledger
from kerops.inventory import service as inventory_service
from kerops.inventory.models import Product, Warehouse
from kerops.inventory.schemas import ProductCreate, ProductUpdate
from kerops.iot import rules as iot_rules
from kerops.iot import service as iot_service
from kerops.iot.rules_schemas import RuleCreate, RuleKind
from kerops.iot.schemas import DeviceCreate
from kerops.labour import service as labour_service
from kerops.labour.schemas import RateCreate, WorkLogCreate
from kerops.operations import assignment, history, intake, sla, tasks, transitions
from kerops.operations.models import ServiceTicket, TicketHistory
from kerops.operations.schemas import TicketCreate, TransitionCreate
from kerops.operations.sla_schemas import SlaPolicyCreate, SlaTarget
from kerops.operations.tasks_schemas import TaskCreate
from kerops.parts import service as parts_service
from kerops.purchasing import service as purchasing_service
from kerops.purchasing.schemas import LineIn, PurchaseOrderCreate, ReceiptIn, ReceiptLineIn
from kerops.system import service as system_service
from kerops.system.schemas import AppPlatform, AppVersionCreate
from kerops.tenancy import service as tenancy_service
from kerops.tenancy.models import LocalArea
from kerops.tenancy.schemas import AreaCreate, AreaKind, LocaleCreate
from kerops.users import service as users_service
from kerops.users import vendors as vendors_service
from kerops.users.models import Client, User
from kerops.users.schemas import UserInvite, UserUpdate, VendorCreate
from kerops.workforce import service as workforce_service
from kerops.workforce.schemas import CertificationCreate, ShiftCreate

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


def _principal(user: User) -> Principal:
    """``user``'s principal as the routers pass it (an interactive login)."""
    return Principal(
        user_id=user.id,
        role=user.role,
        client_id=user.client_id,
        vendor_id=user.vendor_id,
        client_role=user.client_role,
    )


def _as(session: AsyncSession, principal: Principal) -> Principal:
    """``principal``, with the changes that follow audited as theirs (as a request's are)."""
    context = AuditContext(actor_user_id=principal.user_id, request_id="demo")
    set_audit_context(session.sync_session, context)
    return principal


def _acting_as(session: AsyncSession, user: User) -> Principal:
    """``user``'s principal, with the changes that follow audited as theirs."""
    return _as(session, _principal(user))


async def _platform_admin(session: AsyncSession, password_hash: str) -> User:
    """The platform's first staff account: no service creates one (``kerops create-admin``
    adds the row the same way), and every other account is created by someone."""
    admin = await users_service.find_user_by_email(session, "admin@kerops.demo")
    if admin is None:
        admin = User(
            email="admin@kerops.demo",
            full_name="KER Admin",
            password_hash=password_hash,
            role=UserRole.super_admin,
        )
        session.add(admin)
        await session.flush()
    return admin


async def _invite(
    session: AsyncSession,
    state: AppState,
    principal: Principal,
    invite: UserInvite,
    password_hash: str,
) -> User:
    """Invite a demo person, then give them the demo password: they cannot open the email
    the invitation sends, so the password is set here instead of by accepting it."""
    user, _message = await users_service.invite_user(
        session, state, principal=principal, invite=invite
    )
    user.password_hash = password_hash
    user.email_verified_at = utcnow()
    await session.flush()
    return user


async def load_demo(session: AsyncSession, state: AppState) -> bool:
    """Create the demo data through the services unless it is already there; returns whether
    anything was added."""
    set_audit_context(session.sync_session, AuditContext(request_id="demo"))
    if await users_service.find_user_by_email(session, "owner@acme.demo") is not None:
        return False
    jobs.load_job_modules()  # the services queue jobs (diagnosis, event dispatch) by name
    pw = state.security.hash_password(DEMO_PASSWORD)
    admin = await _platform_admin(session, pw)
    staff = _acting_as(session, admin)
    for platform in (AppPlatform.android, AppPlatform.ios):
        await system_service.create_app_version(
            session,
            data=AppVersionCreate(
                platform=platform, version="2.3.0", min_supported_version="2.0.0"
            ),
        )
    vendor = await vendors_service.create_vendor(
        session,
        principal=staff,
        data=VendorCreate(
            name="Frío Sur SpA",
            rut="76.086.428-5",
            contact_name="Pedro Soto",
            contact_email="contacto@frio.demo",
            contact_phone="+56 2 2345 6789",
        ),
    )
    await _invite(
        session,
        state,
        staff,
        UserInvite(
            email="vendor.admin@frio.demo",
            full_name="Pedro Soto",
            role=UserRole.vendor_admin,
            vendor_id=vendor.id,
        ),
        pw,
    )
    # Acme signs up like any client (its default workflow comes with it).
    set_audit_context(session.sync_session, AuditContext(request_id="demo"))
    owner = await auth_service.register_client_owner(
        session, state, email="owner@acme.demo", password=DEMO_PASSWORD, full_name="Carolina Rojas"
    )
    # No service changes a client's plan yet (billing will): the demo client is on Pro.
    client = await session.get(Client, owner.client_id)
    assert client is not None
    client.name, client.plan = "Acme Retail", SubscriptionPlan.pro
    await session.flush()
    await _load_acme(session, state, owner, pw)
    await _demo_purchase_order(session, owner, admin, vendor.id)
    return True


async def _demo_purchase_order(
    session: AsyncSession, owner: User, staff_user: User, vendor_id: uuid.UUID
) -> None:
    """Frío Sur as the preferred vendor of Acme's spare parts, and Acme's purchase order of
    some of them to Frío Sur for its central warehouse: drafted and submitted by the owner,
    approved by KER's staff (the owner may not approve their own), placed, and partly received
    (the refrigerant arrived, 12 of the 20 filters)."""
    assert owner.client_id is not None
    acting = _acting_as(session, owner)
    warehouse_id = (
        await session.execute(
            select(Warehouse.id).where(
                Warehouse.client_id == owner.client_id, Warehouse.code == "CENTRAL"
            )
        )
    ).scalar_one()
    # Frío Sur supplies Acme's spare parts: the reorder proposes its orders to it.
    for product in (
        await session.execute(
            select(Product).where(
                Product.client_id == owner.client_id,
                Product.category == ProductCategory.spare_part,
            )
        )
    ).scalars():
        await inventory_service.update_product(
            session,
            principal=acting,
            product_id=product.id,
            data=ProductUpdate(preferred_vendor_id=vendor_id),
        )
    skus = {"FIL-G4-592": 20, "GAS-R410A-11": 2}
    products = {
        p.sku: p
        for p in (
            await session.execute(
                select(Product).where(Product.client_id == owner.client_id, Product.sku.in_(skus))
            )
        ).scalars()
    }
    order = await purchasing_service.create_order(
        session,
        principal=acting,
        data=PurchaseOrderCreate(
            vendor_id=vendor_id,
            warehouse_id=warehouse_id,
            lines=[
                LineIn(
                    product_id=products[sku].id,
                    quantity=Decimal(quantity),
                    unit_price_minor=products[sku].cost_minor,
                )
                for sku, quantity in skus.items()
            ],
            notes="Reposición mensual de filtros y refrigerante.",
        ),
    )
    await purchasing_service.submit(session, principal=acting, order_id=order.id)
    await purchasing_service.approve(
        session, principal=_acting_as(session, staff_user), order_id=order.id
    )
    await purchasing_service.place(session, principal=_acting_as(session, owner), order_id=order.id)
    lines = {
        line.product_id: line for line in await purchasing_service.order_lines(session, order.id)
    }
    await purchasing_service.receive(
        session,
        principal=acting,
        order_id=order.id,
        data=ReceiptIn(
            lines=[
                ReceiptLineIn(line_id=lines[products["FIL-G4-592"].id].id, quantity=Decimal(12)),
                ReceiptLineIn(line_id=lines[products["GAS-R410A-11"].id].id, quantity=Decimal(2)),
            ]
        ),
    )


# --- Acme: locales, people, assets, parts, plans, devices, shifts, licences and tickets -------


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


#: (sku, opening quantity in the central store, unit cost in CLP, reorder point, reorder
#: quantity); COR-B52 starts below its reorder point (3 available, nothing on order, point 4).
DEMO_STOCK = [
    ("FIL-G4-592", 40, 13_230, 12, 40),
    ("COR-B52", 3, 8_750, 4, 10),
    ("GAS-R410A-11", 4, 132_300, 1, 2),
    ("INT-C60-3P32", 6, 32_690, 2, 4),
    ("CON-45-5", 10, 6_860, 0, 0),
]
#: (sku, quantity) moved from the central store into the technician's van.
DEMO_VAN = [("FIL-G4-592", 6), ("CON-45-5", 2)]


async def _stores(
    session: AsyncSession, acting: Principal, tech_id: uuid.UUID, products: dict[str, Product]
) -> None:
    """Acme's central store with opening stock and reorder settings, and the technician's van
    filled by a transfer from it."""
    from decimal import Decimal

    from kerops.core.enums import MovementDocument, MovementKind
    from kerops.inventory import ledger, transfers, warehouses
    from kerops.inventory import stock as stock_service
    from kerops.inventory.store_schemas import (
        StockSettings,
        TransferCreate,
        TransferLine,
        WarehouseCreate,
    )

    central = await warehouses.create_warehouse(
        session,
        principal=acting,
        data=WarehouseCreate(kind=WarehouseKind.central, code="CENTRAL", name="Bodega central"),
    )
    van = await warehouses.create_warehouse(
        session,
        principal=acting,
        data=WarehouseCreate(
            kind=WarehouseKind.van, code="VAN-01", name="Camioneta técnico", technician_id=tech_id
        ),
    )
    for sku, quantity, cost, reorder_point, reorder_quantity in DEMO_STOCK:
        await ledger.move(
            session,
            client_id=central.client_id,
            warehouse_id=central.id,
            product_id=products[sku].id,
            kind=MovementKind.receipt,
            quantity=Decimal(quantity),
            document_kind=MovementDocument.adjustment,
            document_id=None,
            actor_id=acting.user_id,
            unit_cost_minor=cost,
            reason="Saldo inicial",
        )
        await stock_service.put_stock_settings(
            session,
            principal=acting,
            data=StockSettings(
                warehouse_id=central.id,
                product_id=products[sku].id,
                reorder_point=Decimal(reorder_point),
                reorder_quantity=Decimal(reorder_quantity),
                bin_location=f"A-{len(sku) % 5 + 1}",
            ),
        )
    await transfers.create_transfer(
        session,
        principal=acting,
        data=TransferCreate(
            from_warehouse_id=central.id,
            to_warehouse_id=van.id,
            lines=[
                TransferLine(product_id=products[sku].id, quantity=Decimal(quantity))
                for sku, quantity in DEMO_VAN
            ],
            note="Carga semanal de la camioneta",
        ),
    )


def _santiago(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SANTIAGO).astimezone(UTC)


@dataclass
class _Acme:
    """The demo client's people (as principals) and what the tickets refer to."""

    owner: Principal
    manager: Principal
    requester: Principal
    tech: Principal
    tech_id: uuid.UUID
    locale_codes: dict[uuid.UUID, str]
    assets: dict[str, Asset]
    on_shift: datetime


async def _load_acme(session: AsyncSession, state: AppState, owner: User, pw: str) -> None:
    """Acme's locales, areas, people and everything they look after, each made by its owner."""
    acting = _acting_as(session, owner)
    providencia = await tenancy_service.create_locale(
        session,
        principal=acting,
        data=LocaleCreate(
            name="Acme Providencia",
            code="PRV",
            address="Av. Providencia 1234",
            city="Santiago",
            region="Región Metropolitana",
            latitude=-33.4263,
            longitude=-70.6170,
        ),
    )
    vina = await tenancy_service.create_locale(
        session,
        principal=acting,
        data=LocaleCreate(
            name="Acme Viña del Mar",
            code="VIN",
            address="Av. Libertad 500",
            city="Viña del Mar",
            region="Valparaíso",
            latitude=-33.0153,
            longitude=-71.5500,
        ),
    )
    locales = {"PRV": providencia, "VIN": vina}
    floor = await tenancy_service.create_area(
        session,
        principal=acting,
        locale_id=providencia.id,
        data=AreaCreate(name="Piso 1", kind=AreaKind.floor, code="P1"),
    )
    areas: dict[tuple[str, str], LocalArea] = {}
    for code, name, kind, parent in (
        ("PRV", "Sala de máquinas", AreaKind.room, floor.id),
        ("PRV", "Sala de ventas", AreaKind.zone, floor.id),
        ("VIN", "Bodega", AreaKind.room, None),
        ("VIN", "Sala de ventas Viña", AreaKind.zone, None),
    ):
        areas[code, name] = await tenancy_service.create_area(
            session,
            principal=acting,
            locale_id=locales[code].id,
            data=AreaCreate(name=name, kind=kind, parent_id=parent),
        )

    manager = await _invite(
        session,
        state,
        acting,
        UserInvite(
            email="manager@acme.demo",
            full_name="Matías González",
            role=UserRole.client_member,
            locale_id=providencia.id,
            local_role=LocalRole.manager,
        ),
        pw,
    )
    requester = await _invite(
        session,
        state,
        acting,
        UserInvite(
            email="requester@acme.demo",
            full_name="Valentina Muñoz",
            role=UserRole.client_member,
            locale_id=providencia.id,
            local_role=LocalRole.requester,
        ),
        pw,
    )
    tech = await _invite(
        session,
        state,
        acting,
        UserInvite(email="tech@acme.demo", full_name="José Pérez", role=UserRole.technician),
        pw,
    )
    await users_service.update_user(
        session,
        principal=_acting_as(session, tech),
        user_id=tech.id,
        changes=UserUpdate(skills=[TechnicianSkill.electricity, TechnicianSkill.hvac]),
    )

    acting = _acting_as(session, owner)
    assets: dict[str, Asset] = {}
    for code, area, name, category, make, model, serial, status, criticality in DEMO_ASSETS:
        assets[name] = await assets_service.create_asset(
            session,
            principal=acting,
            data=AssetCreate(
                locale_id=locales[code].id,
                area_id=areas[code, area].id if area else None,
                name=name,
                category=category,
                make=make,
                model=model,
                serial_number=serial,
                # A broken asset is reported down by its manager below, with the reason.
                status=AssetStatus.operational if status is AssetStatus.down else status,
                criticality=criticality,
                install_date=date(2021 + len(assets) % 4, 1 + len(assets) % 12, 15),
                meter_readings={"run_hours": 4200.0} if category == "chiller" else {},
            ),
        )
    products: dict[str, Product] = {}
    for sku, product_name, unit, price in DEMO_PRODUCTS:
        products[sku] = await inventory_service.create_product(
            session,
            principal=acting,
            data=ProductCreate(
                category=ProductCategory.spare_part,
                sku=sku,
                name=product_name,
                unit=unit,
                price_minor=price,
                cost_minor=price * 7 // 10,
                currency="CLP",
            ),
        )
    for asset_name, sku, quantity in DEMO_BOM:
        await assets_service.add_bom_line(
            session,
            principal=acting,
            asset_id=assets[asset_name].id,
            data=BomLineCreate(product_id=products[sku].id, quantity=quantity),
        )
    await _stores(session, acting, tech.id, products)
    today = utcnow().astimezone(SANTIAGO).date()
    await _plans(session, acting, assets, tech.id, today)
    await _devices(session, acting, assets)
    monday = today - timedelta(days=today.weekday())
    for offset in range(5):
        day = monday + timedelta(days=offset)
        await workforce_service.create_shift(
            session,
            principal=acting,
            data=ShiftCreate(
                technician_id=tech.id,
                shift_type=ShiftType.working,
                starts_at=_santiago(day, 8),
                ends_at=_santiago(day, 17),
            ),
        )
    await _licences(session, acting, tech.id, today)
    await sla.create_policy(
        session,
        principal=acting,
        data=SlaPolicyCreate(
            name="Retail stores",
            targets={
                priority: SlaTarget(response_minutes=response, resolution_minutes=resolution)
                for priority, (response, resolution) in DEMO_SLA_TARGETS.items()
            },
            warning_percent=75,
        ),
    )
    await assets_service.update_asset(
        session,
        principal=_acting_as(session, manager),
        asset_id=assets["Split cajas 2"].id,
        data=AssetUpdate(status=AssetStatus.down, status_reason="No enfría; compresor no arranca"),
    )
    await demo_history.load(
        session,
        demo_history.Cast(
            client_id=providencia.client_id,
            manager_id=manager.id,
            requester_id=requester.id,
            owner_id=owner.id,
            tech_id=tech.id,
            requester_locale_id=providencia.id,
            assets=assets,
            zones={locale.id: ZoneInfo(locale.timezone) for locale in locales.values()},
            rates=dict(DEMO_RATES),
        ),
        now=utcnow(),
    )
    acme = _Acme(
        owner=_principal(owner),
        manager=_principal(manager),
        requester=_principal(requester),
        tech=_principal(tech),
        tech_id=tech.id,
        locale_codes={locale.id: code for code, locale in locales.items()},
        assets=assets,
        on_shift=_santiago(monday, 10),
    )
    await _demo_tickets(session, acme)
    await _demo_ticket_parts(session, acme)
    await _demo_labour(session, acme)


async def _plans(
    session: AsyncSession,
    acting: Principal,
    assets: dict[str, Asset],
    tech_id: uuid.UUID,
    today: date,
) -> None:
    """A monthly and a by-hours plan of the chiller, a quarterly one of the main panel."""
    chiller, panel = assets["Chiller 1"], assets["Tablero general TG-1"]
    for asset, plan in (
        (
            chiller,
            {
                "name": "Mantención mensual chiller",
                "description": "Limpieza de filtros, revisión de presiones y correas.",
                "trigger": "date",
                "interval_unit": "month",
                "interval_count": 1,
                "anchor": "calendar",
                "start_date": today.replace(day=1),
                "lead_time_days": 3,
                "checklist_template": [
                    {"label": "Limpiar filtros", "kind": "check"},
                    {"label": "Presión de succión (psi)", "kind": "number", "min": 40, "max": 80},
                ],
                "default_priority": TicketPriority.medium,
                "required_skill": TechnicianSkill.hvac,
                "default_assignee_id": tech_id,
            },
        ),
        (
            panel,
            {
                "name": "Termografía trimestral tablero",
                "description": "Termografía y reapriete de conexiones.",
                "trigger": "date",
                "interval_unit": "month",
                "interval_count": 3,
                "anchor": "calendar",
                "start_date": today.replace(day=1),
                "lead_time_days": 7,
                "checklist_template": [{"label": "Puntos calientes", "kind": "pass_fail"}],
                "default_priority": TicketPriority.high,
                "required_skill": TechnicianSkill.electricity,
                "default_assignee_id": tech_id,
            },
        ),
        (
            chiller,
            {
                "name": "Cambio de aceite cada 2000 horas",
                "trigger": "meter",
                "meter_name": "run_hours",
                "meter_interval": 2000.0,
                "next_meter_due": 6000.0,
                "default_priority": TicketPriority.medium,
                "required_skill": TechnicianSkill.hvac,
            },
        ),
    ):
        await plans_service.create_plan(
            session, principal=acting, asset_id=asset.id, data=PlanCreate.model_validate(plan)
        )


async def _devices(session: AsyncSession, acting: Principal, assets: dict[str, Asset]) -> None:
    """Temperature sensors of both cold rooms (with a rule on their range) and an energy meter
    of the chiller."""
    for asset_name, name, kind, unit, serial, low, high in (
        (
            "Cámara de frío 1",
            "Sensor temperatura cámara 1",
            "temperature",
            "°C",
            "KD-T-0001",
            -2.0,
            6.0,
        ),
        ("Chiller 1", "Medidor energía chiller 1", "energy", "kWh", "KD-E-0002", None, None),
        (
            "Cámara de congelados",
            "Sensor temperatura congelados",
            "temperature",
            "°C",
            "KD-T-0003",
            -25.0,
            -15.0,
        ),
    ):
        device = await iot_service.create_device(
            session,
            principal=acting,
            data=DeviceCreate(
                asset_id=assets[asset_name].id,
                name=name,
                device_type=kind,
                unit=unit,
                serial_number=serial,
                min_threshold=low,
                max_threshold=high,
            ),
        )
        if low is not None and high is not None:
            # Out of its range, a sensor opens a ticket for its asset.
            await iot_rules.create_rule(
                session,
                principal=acting,
                device_id=device.id,
                data=RuleCreate(
                    name=f"{name}: fuera de rango",
                    metric=kind,
                    kind=RuleKind.outside,
                    low=low,
                    high=high,
                    hysteresis=0.5,
                ),
            )


async def _licences(
    session: AsyncSession, acting: Principal, tech_id: uuid.UUID, today: date
) -> None:
    """The technician's SEC licences: class B (verified by the owner) and gas, due in 20 days."""
    issuer = "Superintendencia de Electricidad y Combustibles"
    class_b = await workforce_service.create_certification(
        session,
        principal=acting,
        data=CertificationCreate(
            technician_id=tech_id,
            cert_type="sec_class_b",
            number="SEC-B-458812",
            issuer=issuer,
            issued_date=today - timedelta(days=400),
            expires_date=today + timedelta(days=1060),
        ),
    )
    await workforce_service.verify_certification(
        session, principal=acting, certification_id=class_b.id
    )
    await workforce_service.create_certification(
        session,
        principal=acting,
        data=CertificationCreate(
            technician_id=tech_id,
            cert_type="sec_gas",
            number="SEC-GAS-77120",
            issuer=issuer,
            issued_date=today - timedelta(days=1075),
            expires_date=today + timedelta(days=20),
        ),
    )


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


async def _demo_tickets(session: AsyncSession, acme: _Acme) -> None:
    """Raise the demo tickets and take each along the default workflow to its status."""
    now = utcnow()
    for asset_name, title, priority, status, days_ago in DEMO_TICKETS:
        asset = acme.assets[asset_name]
        # Providencia's requester and manager handle its tickets; Viña has only the owner.
        at_providencia = acme.locale_codes[asset.locale_id] == "PRV"
        reporter = acme.requester if at_providencia else acme.owner
        client_side = acme.manager if at_providencia else acme.owner
        ticket = await intake.create_ticket(
            session,
            principal=_as(session, reporter),
            data=TicketCreate(
                title=title,
                description=f"{title}. Reportado por el personal del local.",
                locale_id=asset.locale_id,
                area_id=asset.area_id,
                asset_id=asset.id,
                priority=priority,
            ),
        )
        for to_status, actor in _PATHS[status]:
            principal = _as(session, acme.tech if actor == "tech" else client_side)
            if to_status is TicketStatus.assigned:
                await assignment.assign(
                    session,
                    principal=principal,
                    ticket_id=ticket.id,
                    # Eligibility as of a time the technician works this week.
                    data=assignment.AssignmentCreate(technician_id=acme.tech_id, at=acme.on_shift),
                )
            else:
                await transitions.transition(
                    session,
                    principal=principal,
                    ticket_id=ticket.id,
                    data=TransitionCreate(to_status=to_status),
                )
        await _backdate(session, ticket, now - timedelta(days=days_ago, hours=3))
    await _ticket_work(session, acme)


async def _ticket_work(session: AsyncSession, acme: _Acme) -> None:
    """A checklist item and a comment on the tickets being worked on."""
    tripping = await _ticket_titled(session, "Disparo reiterado de protección")
    await tasks.create_task(
        session,
        principal=_as(session, acme.manager),
        ticket_id=tripping.id,
        data=TaskCreate(label="Medir corriente de fuga"),
    )
    showcase = await _ticket_titled(session, "Vitrina no mantiene 4 °C")
    await history.add_comment(
        session,
        principal=_as(session, acme.tech),
        ticket_id=showcase.id,
        body="Condensador sucio; se limpia y se mide la temperatura en una hora.",
    )


#: The parts the completed demo tickets used: (ticket title, sku, quantity).
DEMO_TICKET_PARTS = [
    ("Hielo en evaporador", "GAS-R410A-11", 1),
    ("Cambio de interruptor dañado", "INT-C60-3P32", 2),
]


async def _demo_ticket_parts(session: AsyncSession, acme: _Acme) -> None:
    """The parts the completed demo tickets used, issued from the central warehouse (the
    stores' demo data) by their technician, so their parts cost comes from the ledger; a part
    the warehouse holds too little of is received first, at its cost."""
    client_id = acme.owner.client_id
    assert client_id is not None
    central = (
        await session.execute(
            select(Warehouse).where(Warehouse.client_id == client_id, Warehouse.code == "CENTRAL")
        )
    ).scalar_one()
    for title, sku, quantity in DEMO_TICKET_PARTS:
        ticket = await _ticket_titled(session, title)
        product = (
            await session.execute(
                select(Product).where(Product.client_id == client_id, Product.sku == sku)
            )
        ).scalar_one()
        wanted = Decimal(quantity)
        free = await ledger.available(session, warehouse_id=central.id, product_id=product.id)
        if free < wanted + 4:  # some left over after the tickets' parts
            await ledger.move(
                session,
                client_id=client_id,
                warehouse_id=central.id,
                product_id=product.id,
                kind=MovementKind.receipt,
                quantity=wanted + 4 - free,
                document_kind=MovementDocument.adjustment,
                document_id=None,
                actor_id=acme.owner.user_id,
                unit_cost_minor=product.cost_minor,
                reason="Stock inicial",
            )
        await parts_service.take_for_ticket(
            session,
            ticket=ticket,
            warehouse_id=central.id,
            product_id=product.id,
            quantity=wanted,
            actor_id=acme.tech_id,
            held=[],
        )
        stamped = ticket.updated_at  # the demo's past, which the change of its cost moves on
        await parts_service.refresh_parts_cost(session, ticket)
        await session.flush()
        ticket.updated_at = stamped
    await session.flush()


#: The technician's hourly rates at Acme (CLP): (category, rate); None: every other category.
DEMO_RATES: list[tuple[WorkLogCategory | None, int]] = [
    (None, 18_000),
    (WorkLogCategory.travel, 12_000),
]
#: The time the completed demo tickets took: (ticket title, category, hours after the ticket
#: was raised it started, minutes).
DEMO_WORK_LOGS = [
    ("Hielo en evaporador", WorkLogCategory.travel, 3.5, 30),
    ("Hielo en evaporador", WorkLogCategory.work, 4, 90),
    ("Cambio de interruptor dañado", WorkLogCategory.travel, 3.5, 30),
    ("Cambio de interruptor dañado", WorkLogCategory.work, 4, 120),
]


async def _demo_labour(session: AsyncSession, acme: _Acme) -> None:
    """The technician's rates, and the time logged on the completed tickets (entered by the
    owner, as a manager corrects a day's time), so their labour cost comes from their logs."""
    for category, rate in DEMO_RATES:
        await labour_service.create_rate(
            session,
            principal=acme.owner,
            data=RateCreate(technician_id=acme.tech_id, category=category, hourly_rate_minor=rate),
        )
    for title, category, after_hours, minutes in DEMO_WORK_LOGS:
        ticket = await _ticket_titled(session, title)
        stamped = ticket.updated_at  # the demo's past, which the change of its cost moves on
        await labour_service.create_log(
            session,
            principal=acme.owner,
            ticket_id=ticket.id,
            data=WorkLogCreate(
                technician_id=acme.tech_id,
                started_at=ticket.created_at + timedelta(hours=after_hours),
                minutes=minutes,
                category=category,
                notes="Registrado por la supervisión al cierre del día.",
            ),
        )
        ticket.updated_at = stamped
    await session.flush()


async def _ticket_titled(session: AsyncSession, title: str) -> ServiceTicket:
    stmt = select(ServiceTicket).where(ServiceTicket.title == title)
    return (await session.execute(stmt)).scalar_one()


#: The ticket's instants set when it reaches a status (its history holds when that was).
_REACHED_AT = {
    TicketStatus.resolved: "resolved_at",
    TicketStatus.completed: "completed_at",
}


async def _backdate(session: AsyncSession, ticket: ServiceTicket, created: datetime) -> None:
    """Move a ticket the services just made into the past, two hours between its moves.

    The services stamp everything "now"; a demo whose tickets all happened this second shows
    no history, no SLA breaches and no resolution times. Every instant of the ticket is shifted
    by the same amount (its SLA deadlines stay where the policy put them relative to its
    creation), then its history rows are spread out and its milestones follow them."""
    shift = created - ticket.created_at
    for attr in inspect(ServiceTicket).column_attrs:
        value = getattr(ticket, attr.key)
        if isinstance(value, datetime):
            setattr(ticket, attr.key, value + shift)
    rows = (
        await session.execute(
            select(TicketHistory)
            .where(TicketHistory.ticket_id == ticket.id)
            .order_by(TicketHistory.created_at, TicketHistory.id)
        )
    ).scalars()
    at = created
    for index, row in enumerate(rows):
        at = created + timedelta(hours=2 * index)
        row.created_at = at
        if row.to_status is TicketStatus.accepted:
            ticket.responded_at = at
        elif row.to_status in _REACHED_AT:
            setattr(ticket, _REACHED_AT[row.to_status], at)
    ticket.updated_at = at
    await session.flush()


async def run_demo(settings: Settings) -> bool:
    """Load the demo data into the configured database."""
    from kerops.main import build_state

    state = build_state(settings)
    try:
        # The loader plays each person itself; the connection sees every client's rows.
        with row_scope.platform():
            async with state.db.sessions() as session:
                added = await load_demo(session, state)
                await session.commit()
                # The jobs the services queued (diagnoses, event dispatches) were written to the
                # jobs outbox by the commit: the relay of `kerops serve` or a worker sends them.
                jobs.take_pending(session)
        return added
    finally:
        await state.db.dispose()
