"""Locales, local areas and local members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import LocalRole
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.customfields.router import FieldFilters
from kerops.tenancy import service
from kerops.tenancy.models import LocalArea, Locale
from kerops.tenancy.schemas import (
    AreaCreate,
    AreaKind,
    AreaRead,
    AreaUpdate,
    LocaleCreate,
    LocaleRead,
    LocaleUpdate,
    MemberCreate,
    MemberRead,
    MemberUpdate,
)

router = APIRouter(tags=["tenancy"])

LocalePage = Annotated[PageParams, sorted_by(service.LOCALE_SORTS)]
AreaPage = Annotated[PageParams, sorted_by(service.AREA_SORTS)]
MemberPage = Annotated[PageParams, sorted_by(service.MEMBER_SORTS)]
LOCALE_DOCUMENT = Document(Locale, LocaleRead)
AREA_DOCUMENT = Document(LocalArea, AreaRead)

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]


def _page(items: Sequence[object], cursor: str | None) -> dict[str, object]:
    return {"items": items, "next_cursor": cursor}


# --- locales -------------------------------------------------------------------------------------


@router.post("/locales", response_model=LocaleRead, status_code=status.HTTP_201_CREATED)
async def create_locale(body: LocaleCreate, principal: PrincipalDep, session: SessionDep) -> Locale:
    """Create a locale (the client's owner, or platform staff naming the client)."""
    return await service.create_locale(session, principal=principal, data=body)


@router.get("/locales", response_model=Page[LocaleRead])
async def list_locales(
    reader: ReaderDep,
    page: LocalePage,
    q: TextFilter = None,
    city: TextFilter = None,
    region: TextFilter = None,
    is_active: bool | None = None,
    field: FieldFilters = None,
) -> Response:
    """The locales the caller can see (sort: name, created_at; ``field``: custom fields)."""
    items, cursor = await service.list_locales(
        reader,
        params=page,
        q=q,
        city=city,
        region=region,
        is_active=is_active,
        fields=field,
    )
    return await reader.respond_page(LOCALE_DOCUMENT, items, cursor)


@router.get("/locales/{locale_id}", response_model=LocaleRead)
async def get_locale(locale_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One locale."""
    return await reader.respond(LOCALE_DOCUMENT, locale_id)


@router.patch("/locales/{locale_id}", response_model=LocaleRead)
async def update_locale(
    locale_id: uuid.UUID, body: LocaleUpdate, principal: PrincipalDep, session: SessionDep
) -> Locale:
    """Change a locale (its owner or one of its managers)."""
    return await service.update_locale(session, principal=principal, locale_id=locale_id, data=body)


@router.delete("/locales/{locale_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_locale(locale_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Delete a locale without areas or members (its owner); otherwise deactivate it."""
    await service.delete_locale(session, principal=principal, locale_id=locale_id)


# --- areas ---------------------------------------------------------------------------------------


@router.post(
    "/locales/{locale_id}/areas", response_model=AreaRead, status_code=status.HTTP_201_CREATED
)
async def create_area(
    locale_id: uuid.UUID, body: AreaCreate, principal: PrincipalDep, session: SessionDep
) -> LocalArea:
    """Add a floor, zone or room to a locale (optionally under another of its areas)."""
    return await service.create_area(session, principal=principal, locale_id=locale_id, data=body)


@router.get("/locales/{locale_id}/areas", response_model=Page[AreaRead])
async def list_areas(
    locale_id: uuid.UUID,
    reader: ReaderDep,
    page: AreaPage,
    parent_id: uuid.UUID | None = None,
    root: Annotated[bool | None, Query(description="true: top-level areas only")] = None,
    kind: AreaKind | None = None,
    q: TextFilter = None,
) -> Response:
    """A locale's areas (sort: name, created_at)."""
    async with reader.sharing():  # the locale and the page: one connection
        items, cursor = await service.list_areas(
            reader,
            locale_id=locale_id,
            params=page,
            parent_id=parent_id,
            root=root,
            kind=kind,
            q=q,
        )
    return await reader.respond_page(AREA_DOCUMENT, items, cursor)


@router.get("/locales/{locale_id}/areas/{area_id}", response_model=AreaRead)
async def get_area(locale_id: uuid.UUID, area_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One area of a locale."""
    area = await service.get_area(reader, locale_id=locale_id, area_id=area_id)
    return await reader.respond_row(AREA_DOCUMENT, area)


@router.patch("/locales/{locale_id}/areas/{area_id}", response_model=AreaRead)
async def update_area(
    locale_id: uuid.UUID,
    area_id: uuid.UUID,
    body: AreaUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> LocalArea:
    """Change or move an area (never under itself or one of its sub-areas)."""
    return await service.update_area(
        session, principal=principal, locale_id=locale_id, area_id=area_id, data=body
    )


@router.delete("/locales/{locale_id}/areas/{area_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_area(
    locale_id: uuid.UUID, area_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete an area without sub-areas."""
    await service.delete_area(session, principal=principal, locale_id=locale_id, area_id=area_id)


# --- members -------------------------------------------------------------------------------------


@router.post(
    "/locales/{locale_id}/members", response_model=MemberRead, status_code=status.HTTP_201_CREATED
)
async def add_member(
    locale_id: uuid.UUID, body: MemberCreate, principal: PrincipalDep, session: SessionDep
) -> MemberRead:
    """Give a user of the client a role in the locale (manager, requester or viewer)."""
    return await service.add_member(session, principal=principal, locale_id=locale_id, data=body)


@router.get("/locales/{locale_id}/members", response_model=Page[MemberRead])
async def list_members(
    locale_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    page: MemberPage,
    role: LocalRole | None = None,
    q: TextFilter = None,
) -> dict[str, object]:
    """A locale's members with who they are (sort: created_at, role)."""
    items, cursor = await service.list_members(
        session, principal=principal, locale_id=locale_id, params=page, role=role, q=q
    )
    return _page(items, cursor)


@router.get("/locales/{locale_id}/members/{member_id}", response_model=MemberRead)
async def get_member(
    locale_id: uuid.UUID, member_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> MemberRead:
    """One membership of a locale."""
    return await service.get_member(
        session, principal=principal, locale_id=locale_id, member_id=member_id
    )


@router.patch("/locales/{locale_id}/members/{member_id}", response_model=MemberRead)
async def update_member(
    locale_id: uuid.UUID,
    member_id: uuid.UUID,
    body: MemberUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> MemberRead:
    """Change a member's role (not one's own)."""
    return await service.update_member(
        session, principal=principal, locale_id=locale_id, member_id=member_id, data=body
    )


@router.delete("/locales/{locale_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    locale_id: uuid.UUID, member_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Remove a member from a locale (not oneself)."""
    await service.remove_member(
        session, principal=principal, locale_id=locale_id, member_id=member_id
    )
