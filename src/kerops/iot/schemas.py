"""Schemas of IoT devices."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, StringConstraints, field_validator, model_validator

from kerops.core.i18n import N_
from kerops.core.schemas import InputModel, ReadModel, no_nul, refuse_null
from kerops.tenancy.schemas import Text120, Text200


class DeviceStatus(enum.StrEnum):
    """Whether a device is in service."""

    active = "active"
    inactive = "inactive"
    fault = "fault"


DeviceType = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    AfterValidator(no_nul),
]
Unit = Annotated[
    str,
    StringConstraints(min_length=1, max_length=16, strip_whitespace=True),
    AfterValidator(no_nul),
]
Serial = Annotated[Text120, StringConstraints(min_length=1)]
#: A metric's name as devices send it (``temperature``, ``run_hours``, ``pump.pressure``).
MetricName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Metrics = Annotated[dict[MetricName, Unit], Field(max_length=50)]
Threshold = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]


def check_thresholds(low: float | None, high: float | None) -> None:
    """``min_threshold`` may not exceed ``max_threshold``."""
    if low is not None and high is not None and low > high:
        raise ValueError(N_("min_threshold must not be greater than max_threshold"))


class DeviceCreate(InputModel):
    """A new device on an asset (its locale is the asset's)."""

    asset_id: uuid.UUID
    name: Text200
    device_type: DeviceType
    unit: Unit
    serial_number: Serial
    min_threshold: Threshold | None = None
    max_threshold: Threshold | None = None
    status: DeviceStatus = DeviceStatus.active
    #: Metrics the device sends besides its ``device_type`` (in ``unit``): name -> unit.
    metrics: Metrics = Field(default_factory=dict)

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        check_thresholds(self.min_threshold, self.max_threshold)
        return self


class DeviceUpdate(InputModel):
    """Changes to a device; ``asset_id`` moves it to another asset."""

    asset_id: uuid.UUID | None = None
    name: Text200 | None = None
    device_type: DeviceType | None = None
    unit: Unit | None = None
    serial_number: Serial | None = None
    min_threshold: Threshold | None = None
    max_threshold: Threshold | None = None
    status: DeviceStatus | None = None
    metrics: Metrics | None = None

    @field_validator(
        "asset_id", "name", "device_type", "unit", "serial_number", "status", "metrics"
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)

    @model_validator(mode="after")
    def _thresholds(self) -> Self:
        check_thresholds(self.min_threshold, self.max_threshold)
        return self


class DeviceRead(ReadModel):
    """A device; its credential is never shown again after it is issued."""

    id: uuid.UUID
    client_id: uuid.UUID
    locale_id: uuid.UUID
    asset_id: uuid.UUID
    name: str
    device_type: str
    unit: str
    serial_number: str
    min_threshold: float | None
    max_threshold: float | None
    status: DeviceStatus
    last_seen_at: datetime | None
    metrics: dict[str, str]
    credential_prefix: str
    created_at: datetime
    updated_at: datetime


class DeviceWithCredential(DeviceRead):
    """A device with its new credential, shown this once (store it on the device)."""

    credential: str
