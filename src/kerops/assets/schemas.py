"""Schemas of assets, their status history, downtime and parts lists."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from kerops.core.enums import AssetStatus
from kerops.core.i18n import N_
from kerops.core.schemas import ApiDate, InputModel, ReadModel, refuse_null
from kerops.customfields.schemas import CustomFieldValues
from kerops.tenancy.schemas import Description, Text120, Text200


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(N_("must not contain NUL characters"))
    return value


def _meter_names(value: dict[str, float]) -> dict[str, float]:
    for name in value:
        if not name or len(name) > 64 or "\x00" in name:
            raise ValueError(N_("meter names are 1 to 64 characters long"))
    return value


Category = Annotated[str, StringConstraints(max_length=64), AfterValidator(_no_nul)]
Criticality = Annotated[int, Field(ge=1, le=5)]
Meters = Annotated[
    dict[str, Annotated[float, Field(allow_inf_nan=False)]],
    Field(max_length=50),
    AfterValidator(_meter_names),
]
Reason = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]


def _check_warranty(install: date | None, warranty_end: date | None) -> None:
    if install is not None and warranty_end is not None and warranty_end < install:
        raise ValueError(N_("warranty_end_date must not be before install_date"))


class AssetCreate(InputModel):
    """A new asset of a locale, optionally in one of its areas and under another of its assets."""

    locale_id: uuid.UUID
    area_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    name: Text200
    category: Category = ""
    make: Text120 = ""
    model: Text120 = ""
    serial_number: Text120 | None = None
    status: AssetStatus = AssetStatus.operational
    install_date: ApiDate | None = None
    warranty_end_date: ApiDate | None = None
    criticality: Criticality = 3
    meter_readings: Meters = Field(default_factory=dict)
    notes: Description = ""
    custom_fields: CustomFieldValues = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_warranty(self.install_date, self.warranty_end_date)
        return self


class AssetUpdate(InputModel):
    """Changes to an asset; ``status_reason`` is recorded with a change of ``status``."""

    locale_id: uuid.UUID | None = None
    area_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    name: Text200 | None = None
    category: Category | None = None
    make: Text120 | None = None
    model: Text120 | None = None
    serial_number: Text120 | None = None
    status: AssetStatus | None = None
    status_reason: Reason | None = None
    install_date: ApiDate | None = None
    warranty_end_date: ApiDate | None = None
    criticality: Criticality | None = None
    meter_readings: Meters | None = None
    notes: Description | None = None
    custom_fields: CustomFieldValues | None = None

    @field_validator(
        "locale_id",
        "name",
        "category",
        "make",
        "model",
        "status",
        "status_reason",
        "criticality",
        "meter_readings",
        "notes",
        "custom_fields",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _check_warranty(self.install_date, self.warranty_end_date)
        return self


class AssetRead(ReadModel):
    """An asset; ``qr_code`` is the secret of its public scan link."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    area_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    name: str
    code: str | None = Field(description="The asset's own code (set by a spreadsheet import)")
    category: str
    make: str
    model: str
    serial_number: str | None
    status: AssetStatus
    install_date: date | None
    warranty_end_date: date | None
    criticality: int
    meter_readings: dict[str, Any]
    last_maintenance_at: datetime | None
    next_maintenance_at: datetime | None
    qr_code: str
    notes: str
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class StatusChangeRead(ReadModel):
    """One change of an asset's status."""

    id: uuid.UUID
    asset_id: uuid.UUID
    from_status: AssetStatus | None
    to_status: AssetStatus
    changed_at: datetime
    changed_by_id: uuid.UUID | None
    reason: str


class DowntimeRead(ReadModel):
    """Seconds an asset spent ``down`` within a window."""

    asset_id: uuid.UUID
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    down_seconds: float


# --- parts list ----------------------------------------------------------------------------------


class BomLineCreate(InputModel):
    """A part of an asset: a product and how many of it."""

    product_id: uuid.UUID
    quantity: Quantity = 1
    notes: Description = ""


class BomLineUpdate(InputModel):
    """Changes to a part of an asset."""

    quantity: Quantity | None = None
    notes: Description | None = None

    @field_validator("quantity", "notes")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class BomLineRead(ReadModel):
    """A part of an asset, with the product's SKU and name."""

    id: uuid.UUID
    asset_id: uuid.UUID
    product_id: uuid.UUID
    product_sku: str
    product_name: str
    quantity: int
    notes: str
    created_at: datetime
    updated_at: datetime
