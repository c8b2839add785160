"""Schemas of platform settings, plan limits and app versions."""

from __future__ import annotations

import enum
import math
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from kerops.core.enums import SubscriptionPlan
from kerops.core.i18n import N_
from kerops.core.schemas import ApiDateTime, InputModel, LongText, ReadModel, refuse_null
from kerops.system import semver

SETTING_KEY_PATTERN = r"^[a-z][a-z0-9_.\-]{1,119}$"
SETTING_PREFIX_PATTERN = r"^[a-z0-9_.\-]{1,120}$"
#: Limits are stored in 32-bit INTEGER columns.
MAX_LIMIT = 2_147_483_647

SettingValueType = Literal["string", "int", "float", "bool", "json"]


def _check_semver(value: str) -> str:
    semver.parse(value)
    return value


SemVer = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=5, max_length=32),
    AfterValidator(_check_semver),
    Field(
        description="Semantic version 2.0 (MAJOR.MINOR.PATCH[-prerelease][+build])",
        examples=["2.4.1", "3.0.0-rc.1"],
        json_schema_extra={"pattern": f"^{semver.SEMVER_PATTERN}$"},
    ),
]


class AppPlatform(enum.StrEnum):
    """Where an app release runs."""

    ios = "ios"
    android = "android"
    web = "web"


# ---------------------------------------------------------------------------------------------
# Settings


class SettingPut(InputModel):
    """Create or replace a setting; ``value`` must be of ``value_type`` exactly."""

    # A value is stored exactly as given (leading or trailing spaces included).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    value_type: SettingValueType
    value: JsonValue
    description: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)] = ""

    @field_validator("value")
    @classmethod
    def _value_matches_type(cls, value: Any, info: ValidationInfo) -> Any:
        value_type = info.data.get("value_type")
        if value_type is None:  # the type itself was invalid and is reported on its own
            return value
        return check_setting_value(value_type, value)


def check_setting_value(value_type: str, value: Any) -> Any:
    """``value`` if it is of ``value_type`` exactly (no coercion), else ``ValueError``."""
    if value_type == "string":
        if not isinstance(value, str):
            raise ValueError(N_("value must be a string for value_type 'string'"))
        return value
    if value_type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(N_("value must be an integer for value_type 'int'"))
        return value
    if value_type == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(N_("value must be a number for value_type 'float'"))
        if not math.isfinite(value):
            raise ValueError(N_("value must be a finite number"))
        return float(value)
    if value_type == "bool":
        if not isinstance(value, bool):
            raise ValueError(N_("value must be true or false for value_type 'bool'"))
        return value
    if not _all_finite(value):
        raise ValueError(N_("value must not contain NaN or infinite numbers"))
    return value  # json: any JSON value


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    return True


class SettingRead(ReadModel):
    """A platform setting."""

    id: uuid.UUID
    key: str
    value_type: str
    value: JsonValue
    description: str
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------------------------------------
# Plan limits

Limit = Annotated[int, Field(ge=0, le=MAX_LIMIT, strict=True)] | None


class PlanLimitUpdate(InputModel):
    """Change limits of a plan; ``null`` means unlimited."""

    max_locales: Limit = None
    max_users: Limit = None
    max_assets: Limit = None
    max_iot_devices: Limit = None
    max_storage_mb: Limit = None


class PlanLimitRead(ReadModel):
    """The limits of one subscription plan (``null``: unlimited)."""

    id: uuid.UUID
    plan: SubscriptionPlan
    max_locales: int | None
    max_users: int | None
    max_assets: int | None
    max_iot_devices: int | None
    max_storage_mb: int | None
    updated_at: datetime


# ---------------------------------------------------------------------------------------------
# App versions


class AppVersionCreate(InputModel):
    """A new app release."""

    platform: AppPlatform
    version: SemVer
    min_supported_version: SemVer
    release_notes: LongText = ""
    is_active: bool = True
    released_at: ApiDateTime | None = None

    @field_validator("min_supported_version")
    @classmethod
    def _min_not_above_version(cls, value: str, info: ValidationInfo) -> str:
        version = info.data.get("version")
        if version is not None and semver.parse(value) > semver.parse(version):
            raise ValueError(N_("must be lower than or equal to version"))
        return value


class AppVersionUpdate(InputModel):
    """Change an app release (fields left out stay as they are; none may be null)."""

    platform: AppPlatform | None = None
    version: SemVer | None = None
    min_supported_version: SemVer | None = None
    release_notes: LongText | None = None
    is_active: bool | None = None
    released_at: ApiDateTime | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class AppVersionRead(ReadModel):
    """An app release."""

    id: uuid.UUID
    platform: AppPlatform
    version: str
    min_supported_version: str
    release_notes: str
    is_active: bool
    released_at: datetime
    created_at: datetime
    updated_at: datetime


class VersionCheck(ReadModel):
    """What an installed app should do: nothing, offer an update, or force one."""

    platform: AppPlatform
    current_version: str
    latest_version: str | None
    min_supported_version: str | None
    update_available: bool
    force_update: bool
