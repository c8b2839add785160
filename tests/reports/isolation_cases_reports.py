"""Isolation cases of the printed documents, aimed at a work order of client A's: a ticket with
a task, a photo in storage, a signature, a part issued, time logged and a status move, so that
the query budget counts a work order that prints every section."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import (
    MovementDocument,
    MovementKind,
    ProductCategory,
    TicketStatus,
    WarehouseKind,
    WorkLogCategory,
)
from kerops.core.storage.backends import storage_of
from kerops.core.types import utcnow, uuid7
from kerops.inventory import ledger
from kerops.inventory.models import Product, Warehouse
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket, TicketAttachment, TicketHistory, TicketTask
from kerops.operations.numbering import next_ticket_number
from tests.fixtures import files
from tests.isolation import Case, World

P = "/api/v1"


def a_work_order(w: World) -> dict[str, uuid.UUID]:
    """A's in-progress ticket, its technician A's, with one of each thing a work order prints."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        names = ("ticket", "task", "photo", "signature", "warehouse", "product", "log", "move")
        ids = {name: uuid7() for name in names}
        now = utcnow()
        storage = storage_of(w.client.app.state)
        scope = {"client_id": client_id, "locale_id": w.a_locale, "ticket_id": ids["ticket"]}

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(ServiceTicket).values(
                    id=ids["ticket"],
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: orden de trabajo del chiller",
                    locale_id=w.a_locale,
                    technician_id=w.a_technician.id,
                    vendor_id=w.a_vendor,
                    status=TicketStatus.in_progress,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.execute(
                insert(TicketTask).values(
                    id=ids["task"],
                    label="A: medir presión",
                    created_at=now,
                    updated_at=now,
                    **scope,
                )
            )
            for kind in ("photo", "signature"):
                key = f"{client_id}/tickets/{ids['ticket']}/{ids[kind]}"
                image = files.png(40, 30)
                await storage.put_bytes(key, image, content_type="image/png")
                await session.execute(
                    insert(TicketAttachment).values(
                        id=ids[kind],
                        kind=kind,
                        filename=f"a-{kind}.png",
                        content_type="image/png",
                        size_bytes=len(image),
                        sha256="0" * 64,
                        storage_key=key,
                        uploaded_by_id=w.a_technician.id,
                        created_at=now,
                        **scope,
                    )
                )
            await session.execute(
                insert(Warehouse).values(
                    id=ids["warehouse"],
                    client_id=client_id,
                    kind=WarehouseKind.central,
                    code="A-OT-BODEGA",
                    name="A: bodega de la orden de trabajo",
                )
            )
            await session.execute(
                insert(Product).values(
                    id=ids["product"],
                    client_id=client_id,
                    sku="A-OT-VALVULA",
                    name="A: válvula de expansión",
                    category=ProductCategory.spare_part,
                )
            )
            common = {
                "client_id": client_id,
                "warehouse_id": ids["warehouse"],
                "product_id": ids["product"],
                "actor_id": None,
            }
            await ledger.move(
                session,
                kind=MovementKind.receipt,
                quantity=Decimal(10),
                document_kind=MovementDocument.adjustment,
                document_id=None,
                unit_cost_minor=45_000,
                **common,
            )
            await ledger.move(
                session,
                kind=MovementKind.issue,
                quantity=Decimal(-1),
                document_kind=MovementDocument.ticket,
                document_id=ids["ticket"],
                **common,
            )
            await session.execute(
                insert(TicketWorkLog).values(
                    id=ids["log"],
                    technician_id=w.a_technician.id,
                    category=WorkLogCategory.work,
                    started_at=now - timedelta(hours=2),
                    ended_at=now - timedelta(hours=1),
                    minutes=60,
                    hourly_rate_minor=18_000,
                    cost_minor=18_000,
                    created_at=now,
                    updated_at=now,
                    **scope,
                )
            )
            await session.execute(
                insert(TicketHistory).values(
                    id=ids["move"],
                    from_status=TicketStatus.open,
                    to_status=TicketStatus.in_progress,
                    actor_id=w.a_technician.id,
                    comment="A: comienza el trabajo",
                    created_at=now,
                    **scope,
                )
            )

        w.run(create)
        w.remember(*ids.values())
        return ids

    objects: dict[str, uuid.UUID] = w.once("work_order", make)
    return objects


def _ticket(w: World) -> dict[str, Any]:
    return {"ticket_id": a_work_order(w)["ticket"]}


def _locale(w: World) -> dict[str, Any]:
    a_work_order(w)  # a ticket in the month's locale, so that the report has figures
    return {"locale_id": w.a_locale}


CASES = {
    ("GET", f"{P}/tickets/{{ticket_id}}/pdf"): Case(params=_ticket),
    ("GET", f"{P}/locales/{{locale_id}}/reports/monthly.pdf"): Case(params=_locale),
}
