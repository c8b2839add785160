"""Schemas of the stores: warehouses, stock, the ledger, transfers, adjustments, counts and
valuation. Quantities are JSON decimals (a number or a string) in the product's unit,
answered as strings; money is integer minor units."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    computed_field,
    field_validator,
)

from kerops.core.enums import (
    MovementDocument,
    MovementKind,
    ProductCategory,
    StockCountStatus,
    WarehouseKind,
)
from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, MinorUnits, ReadModel, no_nul, refuse_null
from kerops.tenancy.schemas import Text200

#: The largest quantity one request moves (a billion of a unit): far below what the stored
#: thousandths (BIGINT) hold, so sums never overflow.
MAX_QUANTITY = Decimal(1_000_000_000)

#: The most characters a quantity sent as a string may have (ten digits, a point, twelve).
QUANTITY_TEXT = 24
_QUANTITY_PATTERN = r"^-?[0-9]{1,10}(\.[0-9]{1,12})?$"


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > QUANTITY_TEXT:
        raise ValueError(N_("a quantity is written with at most 24 characters"))
    return value


def _schema(bound: str, minimum: Decimal) -> WithJsonSchema:
    """A JSON decimal's schema: a number within bounds, or a string of digits."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", bound: float(minimum), "maximum": float(MAX_QUANTITY)},
                {"type": "string", "pattern": _QUANTITY_PATTERN},
            ]
        }
    )


#: A quantity that must be above zero; its decimals are checked against the product's unit.
Quantity = Annotated[
    Decimal,
    BeforeValidator(_short),
    Field(gt=0, le=MAX_QUANTITY, allow_inf_nan=False),
    _schema("exclusiveMinimum", Decimal(0)),
]
#: A quantity that may be zero (a reorder point, a counted quantity).
QuantityOrZero = Annotated[
    Decimal,
    BeforeValidator(_short),
    Field(ge=0, le=MAX_QUANTITY, allow_inf_nan=False),
    _schema("minimum", Decimal(0)),
]
#: A signed quantity (an adjustment: positive in, negative out; never zero).
SignedQuantity = Annotated[
    Decimal,
    BeforeValidator(_short),
    Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, allow_inf_nan=False),
    _schema("minimum", -MAX_QUANTITY),
]
WarehouseCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,31}$")]
Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(no_nul)]
Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    AfterValidator(no_nul),
]
BinLocation = Annotated[str, StringConstraints(max_length=64), AfterValidator(no_nul)]


# --- warehouses ----------------------------------------------------------------------------------


class WarehouseCreate(InputModel):
    """A new warehouse: ``locale_id`` for a locale's storeroom, ``technician_id`` for a van,
    neither for a central store; ``client_id`` only for platform staff."""

    client_id: uuid.UUID | None = None
    kind: WarehouseKind
    code: WarehouseCode
    name: Text200
    locale_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    is_active: bool = True


class WarehouseUpdate(InputModel):
    """Changes to a warehouse (its kind and locale stay; a van may change technician)."""

    code: WarehouseCode | None = None
    name: Text200 | None = None
    technician_id: uuid.UUID | None = None
    is_active: bool | None = None

    @field_validator("code", "name", "technician_id", "is_active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class WarehouseRead(ReadModel):
    """A warehouse."""

    id: uuid.UUID
    client_id: uuid.UUID
    kind: WarehouseKind
    code: str
    name: str
    locale_id: uuid.UUID | None
    technician_id: uuid.UUID | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


# --- stock ---------------------------------------------------------------------------------------


class StockSettings(InputModel):
    """The settings of a product's stock in a warehouse (the row is made when missing)."""

    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    reorder_point: QuantityOrZero = Decimal(0)
    reorder_quantity: QuantityOrZero = Decimal(0)
    bin_location: BinLocation = ""


class StockUpdate(InputModel):
    """Changes to a stock row's settings; its quantities move only with movements."""

    reorder_point: QuantityOrZero | None = None
    reorder_quantity: QuantityOrZero | None = None
    bin_location: BinLocation | None = None

    @field_validator("reorder_point", "reorder_quantity", "bin_location")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class StockRead(ReadModel):
    """A product's stock in a warehouse; ``available`` is ``on_hand - reserved``."""

    id: uuid.UUID
    client_id: uuid.UUID
    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    on_hand: Decimal
    reserved: Decimal
    on_order: Decimal
    reorder_point: Decimal
    reorder_quantity: Decimal
    bin_location: str
    average_cost_minor: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> Decimal:
        """What may be issued now."""
        return max(self.on_hand - self.reserved, Decimal(0))


# --- the ledger ----------------------------------------------------------------------------------


class MovementRead(ReadModel):
    """One movement of the ledger (never changed)."""

    id: uuid.UUID
    client_id: uuid.UUID
    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    kind: MovementKind
    quantity: Decimal
    unit_cost_minor: int
    document_kind: MovementDocument
    document_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    reason: str
    created_at: datetime


class AdjustmentCreate(InputModel):
    """A correction of a stock: a signed quantity with its reason; an increase may carry its
    unit cost (else it is valued at the average)."""

    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    quantity: SignedQuantity
    reason: Reason
    unit_cost_minor: MinorUnits | None = None


# --- transfers -----------------------------------------------------------------------------------


class TransferLine(InputModel):
    """A product and the quantity of it to move."""

    product_id: uuid.UUID
    quantity: Quantity


class TransferCreate(InputModel):
    """A move of stock between two warehouses of a client, every line or none."""

    from_warehouse_id: uuid.UUID
    to_warehouse_id: uuid.UUID
    lines: Annotated[list[TransferLine], Field(min_length=1, max_length=200)]
    note: Note = ""


class TransferRead(ReadModel):
    """A transfer (its movements: ``GET /inventory/transfers/{id}``)."""

    id: uuid.UUID
    client_id: uuid.UUID
    from_warehouse_id: uuid.UUID
    to_warehouse_id: uuid.UUID
    actor_id: uuid.UUID | None
    note: str
    created_at: datetime


class TransferDetail(TransferRead):
    """A transfer with the movements of it the caller reads."""

    movements: list[MovementRead]


# --- counts --------------------------------------------------------------------------------------


class CountCreate(InputModel):
    """A cycle count of a warehouse: the products given, or every stocked product it holds."""

    warehouse_id: uuid.UUID
    product_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=1000)] | None = None
    note: Note = ""


class CountedLine(InputModel):
    """A counted quantity of a product of the count."""

    product_id: uuid.UUID
    counted: QuantityOrZero


class CountLinesUpdate(InputModel):
    """Counted quantities, line by line (a line counted again takes the new quantity)."""

    lines: Annotated[list[CountedLine], Field(min_length=1, max_length=1000)]


class CountRead(ReadModel):
    """A stock count (its lines: ``GET /inventory/counts/{id}``)."""

    id: uuid.UUID
    client_id: uuid.UUID
    warehouse_id: uuid.UUID
    status: StockCountStatus
    note: str
    started_by_id: uuid.UUID | None
    posted_by_id: uuid.UUID | None
    posted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CountLineRead(ReadModel):
    """A product of a count: on hand when the count started, and the quantity counted."""

    id: uuid.UUID
    product_id: uuid.UUID
    expected: Decimal
    counted: Decimal | None
    counted_by_id: uuid.UUID | None
    counted_at: datetime | None


class CountDetail(CountRead):
    """A count with its lines."""

    lines: list[CountLineRead]


# --- valuation -----------------------------------------------------------------------------------


class WarehouseValue(ReadModel):
    """What a warehouse's stock is worth at average cost."""

    warehouse_id: uuid.UUID
    code: str
    name: str
    value_minor: int


class CategoryValue(ReadModel):
    """What the stock of a product category is worth at average cost."""

    category: ProductCategory
    value_minor: int


class Valuation(ReadModel):
    """The stock the caller reads, valued at average cost (minor units, rounded half up)."""

    total_minor: int
    warehouses: list[WarehouseValue]
    categories: list[CategoryValue]
