"""Platform settings, plan limits and app versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from kerops.core import labels
from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, StaffDep, StateDep, client_ip
from kerops.core.documents import Document
from kerops.core.enums import SubscriptionPlan
from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import current_language, gettext
from kerops.core.openapi import answers
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.system import semver, service
from kerops.system.models import AppVersion, PlanLimit, Setting
from kerops.system.schemas import (
    SETTING_KEY_PATTERN,
    SETTING_PREFIX_PATTERN,
    AppPlatform,
    AppVersionCreate,
    AppVersionRead,
    AppVersionUpdate,
    PlanLimitRead,
    PlanLimitUpdate,
    SettingPut,
    SettingRead,
    VersionCheck,
)

router = APIRouter(tags=["system"])

SettingPage = Annotated[PageParams, sorted_by(service.SETTING_SORTS)]
AppVersionPage = Annotated[PageParams, sorted_by(service.APP_VERSION_SORTS)]
APP_VERSION_DOCUMENT = Document(AppVersion, AppVersionRead)

SettingKey = Annotated[
    str, Path(pattern=SETTING_KEY_PATTERN, max_length=120, description="Setting key")
]


# ---------------------------------------------------------------------------------------------
# Settings (platform staff only)


@router.get("/settings", response_model=Page[SettingRead])
async def list_settings(
    principal: StaffDep,
    session: SessionDep,
    page: SettingPage,
    prefix: Annotated[
        str | None,
        Query(pattern=SETTING_PREFIX_PATTERN, max_length=120, description="Key starts with"),
    ] = None,
) -> Page[SettingRead]:
    """Platform settings, sorted by key (sort: key, id, updated_at)."""
    rows, cursor = await service.list_settings(session, principal, params=page, prefix=prefix)
    return Page(items=[SettingRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/settings/{key}", response_model=SettingRead)
async def get_setting(principal: StaffDep, session: SessionDep, key: SettingKey) -> Setting:
    """One platform setting."""
    return await service.get_setting(session, principal, key=key)


@router.put(
    "/settings/{key}",
    response_model=SettingRead,
    responses={201: {"model": SettingRead, "description": "Created"}},
)
async def put_setting(
    principal: StaffDep, session: SessionDep, key: SettingKey, body: SettingPut, response: Response
) -> Setting:
    """Create (201) or replace (200) a setting; the value must be of its declared type."""
    setting, created = await service.put_setting(session, principal, key=key, data=body)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return setting


@router.delete("/settings/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_setting(principal: StaffDep, session: SessionDep, key: SettingKey) -> None:
    """Delete a setting."""
    await service.delete_setting(session, principal, key=key)


# ---------------------------------------------------------------------------------------------
# Labels of enum values


@router.get("/labels", response_model=dict[str, dict[str, str]])
async def get_labels(principal: PrincipalDep) -> dict[str, dict[str, str]]:
    """The label of every enum value a person sees, in the request's language:
    ``{enum name: {value: label}}`` (values stay English identifiers everywhere else)."""
    return labels.labels(current_language())


# ---------------------------------------------------------------------------------------------
# Plan limits


@router.get("/plan-limits", response_model=Page[PlanLimitRead])
async def list_plan_limits(principal: PrincipalDep, session: SessionDep) -> Page[PlanLimitRead]:
    """The limits of every subscription plan (null: unlimited), all in one page."""
    rows = await service.list_plan_limits(session, principal)
    return Page(items=[PlanLimitRead.model_validate(row) for row in rows])


@router.patch("/plan-limits/{plan}", response_model=PlanLimitRead)
async def update_plan_limit(
    principal: StaffDep, session: SessionDep, plan: SubscriptionPlan, body: PlanLimitUpdate
) -> PlanLimit:
    """Change the limits of a plan (platform staff)."""
    return await service.update_plan_limit(session, principal, plan=plan, data=body)


# ---------------------------------------------------------------------------------------------
# App versions


@router.get("/app-versions/check", response_model=VersionCheck)
@answers(429)
async def check_app_version(
    request: Request,
    state: StateDep,
    session: SessionDep,
    platform: AppPlatform,
    version: Annotated[
        str, Query(min_length=1, max_length=64, description="The installed version (semver)")
    ],
) -> VersionCheck:
    """Public: whether an installed app should update, or must (below the minimum supported)."""
    await state.limiter.hit(
        state.settings.public_rate_limit, "app-version-check", client_ip(request)
    )
    if not semver.is_valid(version):
        raise Unprocessable(
            gettext("version is not a semantic version."),
            errors=[
                field_error(
                    ("query", "version"),
                    gettext("must be a semantic version (MAJOR.MINOR.PATCH[-prerelease][+build])"),
                    "semver",
                )
            ],
        )
    return await service.check_version(session, platform=platform, current_version=version)


@router.get("/app-versions", response_model=Page[AppVersionRead])
async def list_app_versions(
    reader: ReaderDep,
    page: AppVersionPage,
    platform: AppPlatform | None = None,
    is_active: bool | None = None,
) -> Response:
    """App releases, newest first (sort: released_at, created_at, id)."""
    items, cursor = await service.list_app_versions(
        reader, params=page, platform=platform, is_active=is_active
    )
    return await reader.respond_page(APP_VERSION_DOCUMENT, items, cursor)


@router.post("/app-versions", response_model=AppVersionRead, status_code=status.HTTP_201_CREATED)
async def create_app_version(
    principal: StaffDep, session: SessionDep, body: AppVersionCreate
) -> AppVersion:
    """Publish an app release (platform staff)."""
    return await service.create_app_version(session, data=body)


@router.get("/app-versions/{version_id}", response_model=AppVersionRead)
async def get_app_version(version_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One app release."""
    return await reader.respond(APP_VERSION_DOCUMENT, version_id)


@router.patch("/app-versions/{version_id}", response_model=AppVersionRead)
async def update_app_version(
    principal: StaffDep, session: SessionDep, version_id: uuid.UUID, body: AppVersionUpdate
) -> AppVersion:
    """Change an app release (platform staff)."""
    return await service.update_app_version(session, principal, version_id=version_id, data=body)


@router.delete("/app-versions/{version_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_app_version(
    principal: StaffDep, session: SessionDep, version_id: uuid.UUID
) -> None:
    """Delete an app release (platform staff)."""
    await service.delete_app_version(session, principal, version_id=version_id)
