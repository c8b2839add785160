"""Schemas of purchasing: purchase orders, their lines, history and receipts, approval rules
and settings. Amounts are integer minor units of the order's currency; quantities are JSON
decimals (a number or a string), answered as strings."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from kerops.core.enums import MovementKind, PurchaseOrderStatus
from kerops.core.i18n import N_
from kerops.core.schemas import ApiDate, Currency, InputModel, ReadModel, no_nul, refuse_null
from kerops.tenancy.schemas import Description

#: At most this much of one line (in the unit of its product).
MAX_QUANTITY = Decimal(1_000_000)
#: At most this price for one unit (minor units): with ``MAX_LINES`` lines of
#: ``MAX_QUANTITY`` the order's total stays within a 64-bit column.
MAX_UNIT_PRICE = 10_000_000_000
MAX_LINES = 100

#: A quantity written as a string: digits, and a fraction.
QUANTITY_TEXT = r"^[0-9]{1,7}(\.[0-9]{1,10})?$"
_QUANTITY_TEXT = re.compile(QUANTITY_TEXT)


def _quantity_text(value: Any) -> Any:
    """A quantity given as a string has the shape ``QUANTITY_TEXT`` (``"2.5"``)."""
    if isinstance(value, str) and not _QUANTITY_TEXT.match(value.strip()):
        raise ValueError(N_("a quantity is a number such as 2.5"))
    return value


#: A quantity above zero (a JSON number, or a string such as ``"2.5"``).
PositiveQuantity = Annotated[
    Decimal,
    BeforeValidator(_quantity_text),
    Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_QUANTITY)},
                {"type": "string", "pattern": QUANTITY_TEXT},
            ]
        }
    ),
]
UnitPrice = Annotated[int, Field(ge=0, le=MAX_UNIT_PRICE)]
LineText = Annotated[str, StringConstraints(max_length=200), AfterValidator(no_nul)]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    AfterValidator(no_nul),
]
#: Who may approve: the owner; the owner or a client admin; those or a client-wide manager.
ApproverRole = Literal["owner", "admin", "manager"]


class LineIn(InputModel):
    """A line: a stocked product (``product_id``), or a service described in ``description``."""

    product_id: uuid.UUID | None = None
    description: LineText = ""
    quantity: PositiveQuantity
    unit_price_minor: UnitPrice


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]


class PurchaseOrderCreate(InputModel):
    """A new draft order."""

    vendor_id: uuid.UUID
    warehouse_id: uuid.UUID
    currency: Currency = "CLP"
    lines: Lines
    notes: Description = ""
    expected_on: ApiDate | None = None


class PurchaseOrderUpdate(InputModel):
    """Changes to a draft or rejected order (only the fields given; ``lines`` replaces all)."""

    vendor_id: uuid.UUID | None = None
    warehouse_id: uuid.UUID | None = None
    currency: Currency | None = None
    lines: Lines | None = None
    notes: Description | None = None
    expected_on: ApiDate | None = None

    @field_validator("vendor_id", "warehouse_id", "currency", "lines", "notes")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ReasonIn(InputModel):
    """Why (a rejection, a cancellation)."""

    reason: Reason


class ReceiptLineIn(InputModel):
    """What arrived of one line, at its price unless another is given."""

    line_id: uuid.UUID
    quantity: PositiveQuantity
    unit_price_minor: UnitPrice | None = None


class ReceiptIn(InputModel):
    """One delivery: what arrived of which lines."""

    lines: Annotated[list[ReceiptLineIn], Field(min_length=1, max_length=MAX_LINES)]


class PurchaseOrderRead(ReadModel):
    """A purchase order (without its lines)."""

    id: uuid.UUID
    client_id: uuid.UUID
    number: int
    vendor_id: uuid.UUID
    warehouse_id: uuid.UUID
    currency: str
    status: PurchaseOrderStatus
    net_minor: int
    tax_minor: int
    total_minor: int
    notes: str
    expected_on: date | None
    proposed: bool
    created_by_id: uuid.UUID | None
    submitted_by_id: uuid.UUID | None
    approved_by_id: uuid.UUID | None
    rejection_reason: str
    submitted_at: datetime | None
    approved_at: datetime | None
    ordered_at: datetime | None
    received_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    #: When the order's PDF was e-mailed to the vendor (null until it was, or if it was not).
    emailed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class PurchaseOrderLineRead(ReadModel):
    """A line of an order, with what has arrived of it."""

    id: uuid.UUID
    position: int
    product_id: uuid.UUID | None
    description: str
    quantity: Decimal
    unit_price_minor: int
    net_minor: int
    received: Decimal


class PurchaseOrderEventRead(ReadModel):
    """One move of an order."""

    id: uuid.UUID
    from_status: PurchaseOrderStatus | None
    to_status: PurchaseOrderStatus
    actor_id: uuid.UUID | None
    reason: str
    created_at: datetime


class PurchaseOrderDetail(PurchaseOrderRead):
    """A purchase order with its lines and its history."""

    lines: list[PurchaseOrderLineRead]
    events: list[PurchaseOrderEventRead]


class ReceiptRead(ReadModel):
    """A receipt movement of an order's line (the ledger's row)."""

    id: uuid.UUID
    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    kind: MovementKind
    quantity: Decimal
    unit_cost_minor: int
    document_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    created_at: datetime


class ApprovalRuleCreate(InputModel):
    """Orders of ``min_total_minor`` or more in ``currency`` need an approver of ``role``."""

    currency: Currency = "CLP"
    min_total_minor: Annotated[int, Field(ge=0, le=9_000_000_000_000_000_000 // 1000)]
    role: ApproverRole


class ApprovalRuleUpdate(InputModel):
    """Changes to an approval rule."""

    currency: Currency | None = None
    min_total_minor: Annotated[int, Field(ge=0, le=9_000_000_000_000_000_000 // 1000)] | None = None
    role: ApproverRole | None = None

    @field_validator("currency", "min_total_minor", "role")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ApprovalRuleRead(ReadModel):
    """An approval rule."""

    id: uuid.UUID
    client_id: uuid.UUID
    currency: str
    min_total_minor: int
    role: str
    created_at: datetime
    updated_at: datetime


class PurchasingSettingsIn(InputModel):
    """A client's purchasing settings."""

    over_receipt_percent: Annotated[int, Field(ge=0, le=100)]


class PurchasingSettingsRead(ReadModel):
    """A client's purchasing settings (the defaults until changed)."""

    over_receipt_percent: int
