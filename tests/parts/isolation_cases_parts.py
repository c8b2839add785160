"""Isolation cases of parts on tickets, aimed at client A's ticket, warehouse and product (A's
ticket holds a reservation and has parts issued, so each route succeeds for A's owner)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import (
    MovementDocument,
    MovementKind,
    ProductCategory,
    ReservationStatus,
    TicketStatus,
    WarehouseKind,
)
from kerops.core.types import utcnow, uuid7
from kerops.inventory import ledger
from kerops.inventory.models import Product, Warehouse
from kerops.operations.models import ServiceTicket
from kerops.operations.numbering import next_ticket_number
from kerops.parts.models import StockReservation
from tests.isolation import Case, World

P = "/api/v1"
PARTS = "/tickets/{ticket_id}/parts"
RESERVATIONS = "/tickets/{ticket_id}/reservations"


def a_parts(w: World) -> dict[str, uuid.UUID]:
    """A's open ticket (its technician A's), a central warehouse with stock of a part, two of
    it issued to the ticket and one held for it."""

    def make() -> dict[str, uuid.UUID]:
        client_id = w.a_owner.client_id
        assert client_id is not None
        ids = {name: uuid7() for name in ("ticket", "warehouse", "product", "reservation")}
        now = utcnow()

        async def create(session: AsyncSession) -> None:
            await session.execute(
                insert(ServiceTicket).values(
                    id=ids["ticket"],
                    client_id=client_id,
                    number=await next_ticket_number(session, client_id),
                    title="A: cambio de filtro",
                    locale_id=w.a_locale,
                    technician_id=w.a_technician.id,
                    status=TicketStatus.in_progress,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.execute(
                insert(Warehouse).values(
                    id=ids["warehouse"],
                    client_id=client_id,
                    kind=WarehouseKind.central,
                    code="A-PARTES",
                    name="A: bodega de repuestos",
                )
            )
            await session.execute(
                insert(Product).values(
                    id=ids["product"],
                    client_id=client_id,
                    sku="A-FILTRO-OT",
                    name="A: filtro",
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
                quantity=Decimal(1000),
                document_kind=MovementDocument.adjustment,
                document_id=None,
                unit_cost_minor=2500,
                **common,
            )
            await ledger.move(
                session,
                kind=MovementKind.issue,
                quantity=Decimal(-2),
                document_kind=MovementDocument.ticket,
                document_id=ids["ticket"],
                **common,
            )
            await ledger.reserve(
                session,
                warehouse_id=ids["warehouse"],
                product_id=ids["product"],
                quantity=Decimal(1),
            )
            await session.execute(
                insert(StockReservation).values(
                    id=ids["reservation"],
                    client_id=client_id,
                    ticket_id=ids["ticket"],
                    warehouse_id=ids["warehouse"],
                    product_id=ids["product"],
                    quantity=Decimal(1),
                    status=ReservationStatus.active,
                    created_at=now,
                    updated_at=now,
                )
            )

        w.run(create)
        w.remember(*ids.values())
        return ids

    objects: dict[str, uuid.UUID] = w.once("ticket_parts", make)
    return objects


def _ticket(w: World) -> dict[str, Any]:
    return {"ticket_id": a_parts(w)["ticket"]}


def _reservation(w: World) -> dict[str, Any]:
    ids = a_parts(w)
    return {"ticket_id": ids["ticket"], "reservation_id": ids["reservation"]}


def _line(w: World) -> dict[str, Any]:
    ids = a_parts(w)
    return {"product_id": str(ids["product"]), "quantity": 1, "warehouse_id": str(ids["warehouse"])}


CASES = {
    ("POST", f"{P}{PARTS}"): Case(params=_ticket, body=_line),
    ("GET", f"{P}{PARTS}"): Case(params=_ticket),
    ("POST", f"{P}{PARTS}/returns"): Case(params=_ticket, body=_line),
    ("POST", f"{P}{RESERVATIONS}"): Case(
        params=_ticket,
        body=lambda w: {
            "warehouse_id": str(a_parts(w)["warehouse"]),
            "lines": [{"product_id": str(a_parts(w)["product"]), "quantity": 1}],
        },
    ),
    ("GET", f"{P}{RESERVATIONS}"): Case(params=_ticket, kind="list"),
    ("DELETE", f"{P}{RESERVATIONS}/{{reservation_id}}"): Case(params=_reservation),
}
