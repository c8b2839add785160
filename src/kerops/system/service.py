"""Rules of platform settings, plan limits and app versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import SubscriptionPlan
from kerops.core.errors import Conflict, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import utcnow
from kerops.system import semver
from kerops.system.models import AppVersion, PlanLimit, Setting
from kerops.system.schemas import (
    AppPlatform,
    AppVersionCreate,
    AppVersionUpdate,
    PlanLimitUpdate,
    SettingPut,
    VersionCheck,
)

SETTING_SORTS = {"key": Setting.key, "id": Setting.id, "updated_at": Setting.updated_at}
APP_VERSION_SORTS = {
    "id": AppVersion.id,
    "released_at": AppVersion.released_at,
    "created_at": AppVersion.created_at,
}
PLAN_ORDER = {plan: index for index, plan in enumerate(SubscriptionPlan)}


# ---------------------------------------------------------------------------------------------
# Settings


async def list_settings(
    session: AsyncSession, principal: Principal, *, params: PageParams, prefix: str | None
) -> tuple[Sequence[Setting], str | None]:
    """One page of settings, optionally only the keys starting with ``prefix``."""
    stmt = access.scoped(select(Setting), Setting, principal)
    if prefix:
        stmt = stmt.where(Setting.key.startswith(prefix, autoescape=True))
    return await paginate(
        session, stmt, params, sort_fields=SETTING_SORTS, id_column=Setting.id, default_sort="key"
    )


async def _find_setting(
    session: AsyncSession, principal: Principal, key: str, *, action: access.Action
) -> Setting | None:
    stmt = access.scoped(select(Setting), Setting, principal, action).where(Setting.key == key)
    setting: Setting | None = (await session.execute(stmt)).scalar_one_or_none()
    return setting


async def get_setting(session: AsyncSession, principal: Principal, *, key: str) -> Setting:
    """The setting with this key, or 404."""
    setting = await _find_setting(session, principal, key, action="read")
    if setting is None:
        raise NotFound(gettext("setting not found"))
    return setting


async def put_setting(
    session: AsyncSession, principal: Principal, *, key: str, data: SettingPut
) -> tuple[Setting, bool]:
    """Create or replace a setting; returns it and whether it was created."""
    setting = await _find_setting(session, principal, key, action="write")
    created = setting is None
    if setting is None:
        setting = Setting(key=key)
        session.add(setting)
    setting.value_type = data.value_type
    setting.value = data.value
    setting.description = data.description
    await flush_or_conflict(session, gettext("This setting was created concurrently; retry."))
    return setting, created


async def delete_setting(session: AsyncSession, principal: Principal, *, key: str) -> None:
    """Delete a setting, or 404."""
    setting = await _find_setting(session, principal, key, action="write")
    if setting is None:
        raise NotFound(gettext("setting not found"))
    await session.delete(setting)
    await session.flush()


# ---------------------------------------------------------------------------------------------
# Plan limits


async def list_plan_limits(session: AsyncSession, principal: Principal) -> list[PlanLimit]:
    """Every plan's limits, from the smallest plan to the largest."""
    stmt = access.scoped(select(PlanLimit), PlanLimit, principal)
    rows = (await session.execute(stmt)).scalars().all()
    return sorted(rows, key=lambda row: PLAN_ORDER.get(row.plan, len(PLAN_ORDER)))


async def update_plan_limit(
    session: AsyncSession, principal: Principal, *, plan: SubscriptionPlan, data: PlanLimitUpdate
) -> PlanLimit:
    """Change the limits of one plan (``None``: unlimited)."""
    stmt = access.scoped(select(PlanLimit), PlanLimit, principal, "write").where(
        PlanLimit.plan == plan
    )
    limits: PlanLimit | None = (await session.execute(stmt)).scalar_one_or_none()
    if limits is None:
        raise NotFound(gettext("plan limit not found"))
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(limits, name, value)
    await session.flush()
    return limits


# ---------------------------------------------------------------------------------------------
# App versions


async def list_app_versions(
    reader: Reader,
    *,
    params: PageParams,
    platform: AppPlatform | None,
    is_active: bool | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of app releases, newest release first by default."""
    stmt = reader.rows(AppVersion)
    if platform is not None:
        stmt = stmt.where(AppVersion.platform == platform.value)
    if is_active is not None:
        stmt = stmt.where(AppVersion.is_active.is_(is_active))
    return await reader.page(
        stmt,
        params,
        sort_fields=APP_VERSION_SORTS,
        id_column=AppVersion.id,
        default_sort="-released_at",
    )


async def _ensure_unique_version(
    session: AsyncSession, *, platform: str, version: str, exclude_id: uuid.UUID | None = None
) -> None:
    """Refuse a release whose version equals (by precedence) another one of the platform."""
    wanted = semver.parse(version)
    stmt = select(AppVersion.id, AppVersion.version).where(AppVersion.platform == platform)
    for other_id, other_version in (await session.execute(stmt)).all():
        if other_id == exclude_id:
            continue
        if other_version == version or (
            semver.is_valid(other_version) and semver.parse(other_version) == wanted
        ):
            raise Conflict(
                gettext(
                    "Version {other_version} of {platform} already exists.",
                    other_version=other_version,
                    platform=platform,
                ),
                code="app_version_exists",
            )


async def create_app_version(session: AsyncSession, *, data: AppVersionCreate) -> AppVersion:
    """Publish a new app release; the same version twice on one platform is a 409."""
    await _ensure_unique_version(session, platform=data.platform.value, version=data.version)
    release = AppVersion(
        platform=data.platform.value,
        version=data.version,
        min_supported_version=data.min_supported_version,
        release_notes=data.release_notes,
        is_active=data.is_active,
        released_at=data.released_at or utcnow(),
    )
    session.add(release)
    await _flush_release(session)
    return release


async def update_app_version(
    session: AsyncSession, principal: Principal, *, version_id: uuid.UUID, data: AppVersionUpdate
) -> AppVersion:
    """Change an app release; the result must still have min_supported_version <= version."""
    release = await access.get_scoped(session, AppVersion, version_id, principal, "write")
    changes = data.model_dump(exclude_unset=True)
    if "platform" in changes:
        changes["platform"] = AppPlatform(changes["platform"]).value
    platform = changes.get("platform", release.platform)
    version = changes.get("version", release.version)
    minimum = changes.get("min_supported_version", release.min_supported_version)
    if semver.parse(minimum) > semver.parse(version):
        field = "min_supported_version" if "min_supported_version" in changes else "version"
        raise Unprocessable(
            gettext("min_supported_version must not be higher than version."),
            errors=[
                field_error(
                    ("body", field),
                    gettext("min_supported_version must be lower than or equal to version"),
                    "version_order",
                )
            ],
        )
    if platform != release.platform or version != release.version:
        await _ensure_unique_version(
            session, platform=platform, version=version, exclude_id=release.id
        )
    for name, value in changes.items():
        setattr(release, name, value)
    await _flush_release(session)
    return release


async def _flush_release(session: AsyncSession) -> None:
    await flush_or_conflict(
        session, gettext("This version of the platform already exists."), code="app_version_exists"
    )


async def delete_app_version(
    session: AsyncSession, principal: Principal, *, version_id: uuid.UUID
) -> None:
    """Delete an app release."""
    release = await access.get_scoped(session, AppVersion, version_id, principal, "write")
    await session.delete(release)
    await session.flush()


async def check_version(
    session: AsyncSession, *, platform: AppPlatform, current_version: str
) -> VersionCheck:
    """Compare an installed version with the newest active release of its platform."""
    current = semver.parse(current_version)
    stmt = select(AppVersion.version, AppVersion.min_supported_version).where(
        AppVersion.platform == platform.value, AppVersion.is_active.is_(True)
    )
    latest: tuple[semver.Version, str, str] | None = None
    for version, minimum in (await session.execute(stmt)).all():
        if not semver.is_valid(version):
            continue
        parsed = semver.parse(version)
        if latest is None or parsed > latest[0]:
            latest = (parsed, version, minimum)
    if latest is None:
        return VersionCheck(
            platform=platform,
            current_version=current_version,
            latest_version=None,
            min_supported_version=None,
            update_available=False,
            force_update=False,
        )
    parsed_latest, latest_version, minimum = latest
    force = semver.is_valid(minimum) and current < semver.parse(minimum)
    return VersionCheck(
        platform=platform,
        current_version=current_version,
        latest_version=latest_version,
        min_supported_version=minimum,
        update_available=current < parsed_latest,
        force_update=force,
    )
