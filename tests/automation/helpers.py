"""Helpers of the automation tests: a client with a locale and an asset, jobs run in the app."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset, AssetMaintenancePlan
from kerops.core.enums import TicketStatus
from kerops.core.types import utcnow, uuid7
from kerops.operations.models import ServiceTicket, TicketHistory
from tests.fixtures.factories import Account, Runner, make_locale, register_owner
from tests.fixtures.plans import make_asset, set_timezone

#: Settings of every automation test module: queued jobs run before the caller goes on, and no
#: scheduler runs behind the test's back.
INLINE_JOBS: dict[str, Any] = {"jobs_inline": True, "embedded_scheduler": False}


@dataclass
class Site:
    """A client (its owner), one of its locales and an asset there."""

    owner: Account
    locale_id: uuid.UUID
    asset_id: uuid.UUID

    @property
    def client_id(self) -> uuid.UUID:
        assert self.owner.client_id is not None
        return self.owner.client_id


def make_site(
    client: TestClient,
    run: Runner,
    *,
    timezone: str = "America/Santiago",
    asset_name: str = "Chiller 1",
    meter_readings: dict[str, Any] | None = None,
) -> Site:
    """Register a client with a locale in ``timezone`` and an asset there."""
    owner = register_owner(client)
    assert owner.client_id is not None
    locale_id = make_locale(run, owner.client_id, "Planta Norte")
    set_timezone(run, locale_id, timezone)
    asset_id = make_asset(run, owner.client_id, locale_id, asset_name, meter_readings)
    return Site(owner=owner, locale_id=locale_id, asset_id=asset_id)


def run_job(client: TestClient, name: str, **kwargs: Any) -> None:
    """Run a job now in the app (its queued jobs run inline after it commits)."""
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run(name, **kwargs))  # type: ignore[union-attr]


def generate(client: TestClient, now: datetime) -> None:
    """Run the preventive-maintenance generation as of ``now``."""
    run_job(client, "pm.generate", now=now.isoformat())


def plan_row(run: Runner, plan_id: uuid.UUID | str) -> AssetMaintenancePlan:
    """The plan as stored."""

    async def read(session: AsyncSession) -> AssetMaintenancePlan:
        plan = await session.get(AssetMaintenancePlan, uuid.UUID(str(plan_id)))
        assert plan is not None
        return plan

    result: AssetMaintenancePlan = run(read)
    return result


def set_plan(run: Runner, plan_id: uuid.UUID | str, **values: Any) -> None:
    """Change columns of a plan directly."""

    async def change(session: AsyncSession) -> None:
        await session.execute(
            update(AssetMaintenancePlan)
            .where(AssetMaintenancePlan.id == uuid.UUID(str(plan_id)))
            .values(**values)
        )

    run(change)


def set_readings(run: Runner, asset_id: uuid.UUID, readings: dict[str, Any]) -> None:
    """Record new meter readings of an asset (as IoT ingestion does)."""

    async def change(session: AsyncSession) -> None:
        await session.execute(
            update(Asset).where(Asset.id == asset_id).values(meter_readings=readings)
        )

    run(change)


def plan_tickets(run: Runner, plan_id: uuid.UUID | str) -> list[ServiceTicket]:
    """The tickets a plan generated, oldest first."""

    async def read(session: AsyncSession) -> list[ServiceTicket]:
        stmt = (
            select(ServiceTicket)
            .where(ServiceTicket.maintenance_plan_id == uuid.UUID(str(plan_id)))
            .order_by(ServiceTicket.number)
        )
        return list((await session.execute(stmt)).scalars())

    result: list[ServiceTicket] = run(read)
    return result


def ticket_row(run: Runner, ticket_id: uuid.UUID | str) -> ServiceTicket:
    """A ticket as stored."""

    async def read(session: AsyncSession) -> ServiceTicket:
        ticket = await session.get(ServiceTicket, uuid.UUID(str(ticket_id)))
        assert ticket is not None
        return ticket

    result: ServiceTicket = run(read)
    return result


def add_resolved_ticket(
    run: Runner,
    site: Site,
    *,
    title: str,
    description: str = "",
    skill: str | None = None,
    note: str = "",
    asset_id: uuid.UUID | None = None,
    locale_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Insert a resolved ticket of the site's client (in the site's locale unless
    ``locale_id``), with its resolution note."""
    ticket_id = uuid7()
    now = utcnow()
    locale_id = locale_id or site.locale_id

    async def create(session: AsyncSession) -> None:
        from kerops.operations.numbering import next_ticket_number

        session.add(
            ServiceTicket(
                id=ticket_id,
                client_id=site.client_id,
                number=await next_ticket_number(session, site.client_id),
                title=title,
                description=description,
                locale_id=locale_id,
                asset_id=asset_id,
                status=TicketStatus.resolved,
                required_skill=skill,
                source="manual",
                resolved_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        session.add(
            TicketHistory(
                client_id=site.client_id,
                locale_id=locale_id,
                ticket_id=ticket_id,
                from_status=TicketStatus.in_progress,
                to_status=TicketStatus.resolved,
                comment=note,
                created_at=now,
            )
        )

    run(create)
    return ticket_id


#: Resolved tickets (title, description, resolution note) diagnoses learn from in the tests.
HVAC = [
    ("Chiller no enfría", "El chiller del piso 3 no baja la temperatura", "Carga de refrigerante"),
    ("Aire acondicionado sin frío", "La sala de reuniones está muy caliente", "Compresor reparado"),
    ("Chiller con alarma de alta presión", "Se detiene el chiller", "Condensador limpio"),
]
PLUMBING = [
    ("Fuga de agua en baño", "Gotea la llave del lavamanos", "Cambio de sello de la llave"),
    ("Inodoro tapado", "El WC del segundo piso no descarga", "Destape de cañería"),
    ("Filtración en cañería", "Mancha de agua en el cielo", "Unión de cañería cambiada"),
]


def add_diagnosis_history(run: Runner, site: Site) -> dict[str, list[str]]:
    """The HVAC and plumbing tickets above, resolved with their notes; their ids by skill."""
    ids: dict[str, list[str]] = {"hvac": [], "plumbing": []}
    for skill, rows in (("hvac", HVAC), ("plumbing", PLUMBING)):
        for title, description, note in rows:
            ticket_id = add_resolved_ticket(
                run, site, title=title, description=description, skill=skill, note=note
            )
            ids[skill].append(str(ticket_id))
    return ids
