"""Demo data: a platform admin, a client with two locales, its people, a vendor (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.core.audit import set_audit_context
from kerops.core.db import Database
from kerops.core.enums import LocalRole, SubscriptionPlan, UserRole
from kerops.core.principal import AuditContext
from kerops.core.security import Security
from kerops.core.types import uuid7
from kerops.system.models import AppVersion
from kerops.tenancy.models import LocalArea, Locale, LocalMember
from kerops.users.models import User, Vendor

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
    exists = await session.execute(select(User.id).where(User.email == "owner@acme.demo"))
    if exists.first() is not None:
        return False
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
    return True


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
