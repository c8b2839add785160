"""Schemas of parts on tickets: issues, returns, what a ticket used, and its reservations."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, WithJsonSchema

from kerops.core.enums import MovementKind, ReservationStatus
from kerops.core.schemas import InputModel, ReadModel

#: A quantity of a product, a JSON number or a decimal string (``2.5``, ``"2.5"``): positive,
#: exact (the product's unit decides how many decimals it may have; the services check it) and
#: within what a stock row holds.
PositiveQuantity = Annotated[
    Decimal,
    Field(gt=0, le=Decimal(1_000_000_000), allow_inf_nan=False, max_digits=16),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1_000_000_000},
                {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,3})?$"},
            ]
        }
    ),
]


class PartIssue(InputModel):
    """Parts taken for a ticket: from ``warehouse_id``, or the assigned technician's van."""

    product_id: uuid.UUID
    quantity: PositiveQuantity
    warehouse_id: uuid.UUID | None = None


class PartReturn(InputModel):
    """Unused parts given back: into ``warehouse_id``, or where they were last issued from."""

    product_id: uuid.UUID
    quantity: PositiveQuantity
    warehouse_id: uuid.UUID | None = None


class PartMovementRead(ReadModel):
    """One issue or return of a ticket's parts, valued at its unit cost; with the ticket's
    parts cost after it."""

    movement_id: uuid.UUID
    ticket_id: uuid.UUID
    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    kind: MovementKind
    quantity: Decimal
    unit_cost_minor: int
    total_cost_minor: int
    parts_cost_minor: int


class PartUsageLine(ReadModel):
    """What a ticket used of one product from one warehouse."""

    product_id: uuid.UUID
    warehouse_id: uuid.UUID
    issued: Decimal
    returned: Decimal
    net: Decimal
    cost_minor: int


class TicketPartsRead(ReadModel):
    """Every part a ticket used, and their cost (issued minus returned value)."""

    ticket_id: uuid.UUID
    currency: str
    lines: list[PartUsageLine]
    total_cost_minor: int


class ReservationLine(InputModel):
    """A product and how much of it to hold."""

    product_id: uuid.UUID
    quantity: PositiveQuantity


class ReservationCreate(InputModel):
    """Holds for a ticket in ``warehouse_id`` (or the assigned technician's van): the given
    lines, or, without them, the parts list (BOM) of the ticket's asset."""

    warehouse_id: uuid.UUID | None = None
    lines: Annotated[list[ReservationLine], Field(min_length=1, max_length=200)] | None = None


class ReservationRead(ReadModel):
    """A ticket's hold on a quantity of a product in a warehouse."""

    id: uuid.UUID
    client_id: uuid.UUID
    ticket_id: uuid.UUID
    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal
    status: ReservationStatus
    created_at: datetime
    updated_at: datetime
