"""Assets, their status history and downtime, QR codes and parts lists."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.assets import qr, service
from kerops.assets.models import Asset
from kerops.assets.schemas import (
    AssetCreate,
    AssetRead,
    AssetUpdate,
    BomLineCreate,
    BomLineRead,
    BomLineUpdate,
    DowntimeRead,
    StatusChangeRead,
)
from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, StateDep
from kerops.core.documents import Document
from kerops.core.enums import AssetStatus
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.schemas import ApiDateTime
from kerops.customfields.router import FieldFilters

router = APIRouter(tags=["assets"])

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
ASSET = "/assets/{asset_id}"
ASSET_DOCUMENT = Document(Asset, AssetRead)


@router.post("/assets", response_model=AssetRead, status_code=status.HTTP_201_CREATED)
async def create_asset(body: AssetCreate, principal: PrincipalDep, session: SessionDep) -> Asset:
    """Create an asset in a locale the caller manages (its QR code is generated)."""
    return await service.create_asset(session, principal=principal, data=body)


@router.get("/assets", response_model=Page[AssetRead])
async def list_assets(
    reader: ReaderDep,
    page: AssetPage,
    locale_id: uuid.UUID | None = None,
    area_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    status: AssetStatus | None = None,
    category: TextFilter = None,
    q: TextFilter = None,
    updated_since: UpdatedSince = None,
    field: FieldFilters = None,
) -> Response:
    """The assets the caller can see (sort: name, created_at, criticality; ``field``: custom
    fields)."""
    items, cursor = await service.list_assets(
        reader,
        params=page,
        locale_id=locale_id,
        area_id=area_id,
        parent_id=parent_id,
        status=status,
        category=category,
        q=q,
        updated_since=updated_since,
        fields=field,
    )
    return await reader.respond_page(ASSET_DOCUMENT, items, cursor)


@router.get(ASSET, response_model=AssetRead)
async def get_asset(asset_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One asset."""
    return await reader.respond(ASSET_DOCUMENT, asset_id)


@router.patch(ASSET, response_model=AssetRead)
async def update_asset(
    asset_id: uuid.UUID, body: AssetUpdate, principal: PrincipalDep, session: SessionDep
) -> Asset:
    """Change, move or re-parent an asset; a status change is recorded with ``status_reason``."""
    return await service.update_asset(session, principal=principal, asset_id=asset_id, data=body)


@router.delete(ASSET, status_code=status.HTTP_204_NO_CONTENT)
async def delete_asset(asset_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Delete an asset (its child assets move to the top level)."""
    await service.delete_asset(session, principal=principal, asset_id=asset_id)


@router.get(f"{ASSET}/status-history", response_model=Page[StatusChangeRead])
async def list_status_history(
    asset_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, page: StatusChangePage
) -> dict[str, object]:
    """The asset's status changes (sort: changed_at)."""
    items, cursor = await service.list_status_history(
        session, principal=principal, asset_id=asset_id, params=page
    )
    return {"items": items, "next_cursor": cursor}


@router.get(f"{ASSET}/downtime", response_model=DowntimeRead)
async def get_downtime(
    asset_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    start: Annotated[ApiDateTime, Query(alias="from", description="Window start (with offset)")],
    end: Annotated[ApiDateTime, Query(alias="to", description="Window end (with offset)")],
) -> DowntimeRead:
    """Seconds the asset was ``down`` within [from, to) (counted at most until now)."""
    return await service.downtime(
        session, principal=principal, asset_id=asset_id, start=start, end=end
    )


@router.get(
    f"{ASSET}/qr",
    response_class=Response,
    responses={
        200: {
            "description": "The QR image of the asset's public scan link.",
            "content": {"image/svg+xml": {}, "image/png": {}},
        }
    },
)
async def get_qr(
    asset_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    format: qr.QRFormat = qr.QRFormat.svg,
) -> Response:
    """The asset's QR code (SVG or PNG), encoding its public scan link."""
    asset = await service.get_asset(session, principal=principal, asset_id=asset_id)
    image = qr.render(qr.scan_url(state.settings.base_url, asset.qr_code), format)
    return Response(content=image, media_type=qr.MEDIA_TYPES[format])


AssetPage = Annotated[PageParams, sorted_by(service.ASSET_SORTS)]
StatusChangePage = Annotated[PageParams, sorted_by(service.HISTORY_SORTS)]
BomPage = Annotated[PageParams, sorted_by(service.BOM_SORTS)]


# --- parts list ----------------------------------------------------------------------------------


@router.get(f"{ASSET}/bom", response_model=Page[BomLineRead])
async def list_bom(
    asset_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, page: BomPage
) -> dict[str, object]:
    """The asset's parts list with product SKUs and names (sort: created_at, quantity)."""
    items, cursor = await service.list_bom(
        session, principal=principal, asset_id=asset_id, params=page
    )
    return {"items": items, "next_cursor": cursor}


@router.post(f"{ASSET}/bom", response_model=BomLineRead, status_code=status.HTTP_201_CREATED)
async def add_bom_line(
    asset_id: uuid.UUID, body: BomLineCreate, principal: PrincipalDep, session: SessionDep
) -> BomLineRead:
    """Add a product to the asset's parts list (each product once)."""
    return await service.add_bom_line(session, principal=principal, asset_id=asset_id, data=body)


@router.patch(f"{ASSET}/bom/{{line_id}}", response_model=BomLineRead)
async def update_bom_line(
    asset_id: uuid.UUID,
    line_id: uuid.UUID,
    body: BomLineUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> BomLineRead:
    """Change a parts-list line's quantity or notes."""
    return await service.update_bom_line(
        session, principal=principal, asset_id=asset_id, line_id=line_id, data=body
    )


@router.delete(f"{ASSET}/bom/{{line_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_bom_line(
    asset_id: uuid.UUID, line_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Remove a line from the asset's parts list."""
    await service.delete_bom_line(session, principal=principal, asset_id=asset_id, line_id=line_id)
