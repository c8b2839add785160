"""Schemas of the product catalogue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from kerops.core.enums import ProductCategory
from kerops.core.schemas import Currency, InputModel, MinorUnits, ReadModel, no_nul, refuse_null
from kerops.tenancy.schemas import Description, Text200

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,63}$")]
Unit = Annotated[
    str,
    StringConstraints(min_length=1, max_length=16, strip_whitespace=True),
    AfterValidator(no_nul),
]
Minor = MinorUnits
#: Digits of an EAN-8, UPC-A, EAN-13 or GTIN-14 (the check digit is verified by the service).
Barcode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,14}$")]
VendorSku = Annotated[str, StringConstraints(max_length=64), AfterValidator(no_nul)]
LeadTime = Annotated[int, Field(ge=0, le=365)]


class ProductCreate(InputModel):
    """A new catalogue item; ``client_id`` only for platform staff (none: KER's catalogue)."""

    client_id: uuid.UUID | None = None
    category: ProductCategory
    sku: Sku
    name: Text200
    description: Description = ""
    unit: Unit = "unit"
    price_minor: Minor = 0
    cost_minor: Minor = 0
    currency: Currency = "CLP"
    is_active: bool = True
    barcode: Barcode | None = None
    preferred_vendor_id: uuid.UUID | None = None
    vendor_sku: VendorSku = ""
    lead_time_days: LeadTime = 0
    is_stocked: bool = True


class ProductUpdate(InputModel):
    """Changes to a product (only the fields given are changed)."""

    category: ProductCategory | None = None
    sku: Sku | None = None
    name: Text200 | None = None
    description: Description | None = None
    unit: Unit | None = None
    price_minor: Minor | None = None
    cost_minor: Minor | None = None
    currency: Currency | None = None
    is_active: bool | None = None
    #: null clears the barcode or the preferred vendor.
    barcode: Barcode | None = None
    preferred_vendor_id: uuid.UUID | None = None
    vendor_sku: VendorSku | None = None
    lead_time_days: LeadTime | None = None
    is_stocked: bool | None = None

    @field_validator(
        "category",
        "sku",
        "name",
        "description",
        "unit",
        "price_minor",
        "cost_minor",
        "currency",
        "is_active",
        "vendor_sku",
        "lead_time_days",
        "is_stocked",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class ProductRead(ReadModel):
    """A catalogue item; ``client_id`` null for KER's platform catalogue."""

    id: uuid.UUID
    client_id: uuid.UUID | None
    category: ProductCategory
    sku: str
    name: str
    description: str
    unit: str
    price_minor: int
    cost_minor: int
    currency: str
    is_active: bool
    barcode: str | None
    preferred_vendor_id: uuid.UUID | None
    vendor_sku: str
    lead_time_days: int
    is_stocked: bool
    created_at: datetime
    updated_at: datetime
