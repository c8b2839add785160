"""Assets, their status history and downtime, QR codes, the public scan page and parts lists."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

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
    ScanRead,
    ScanReportCreate,
    ScanReportRead,
    StatusChangeRead,
)
from kerops.core import access
from kerops.core.deps import CROSS_CLIENT, PrincipalDep, ReaderDep, SessionDep, StateDep, client_ip
from kerops.core.enums import AssetStatus
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.schemas import ApiDateTime
from kerops.core.storage.sniffing import IMAGE_TYPES, describe
from kerops.core.storage.uploads import ObjectWritesDep, UploadRoute, receive_upload

router = APIRouter(tags=["assets"])

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
ASSET = "/assets/{asset_id}"
ASSET_DOCUMENT = access.Document(Asset, AssetRead)


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
) -> Response:
    """The assets the caller can see (sort: name, created_at, criticality)."""
    items, cursor = await service.list_assets(
        reader,
        params=page,
        locale_id=locale_id,
        area_id=area_id,
        parent_id=parent_id,
        status=status,
        category=category,
        q=q,
    )
    return await ASSET_DOCUMENT.respond_page(reader, items, cursor)


@router.get(ASSET, response_model=AssetRead)
async def get_asset(asset_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One asset."""
    return await ASSET_DOCUMENT.respond(reader, asset_id)


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


@router.get("/scan/{code}", response_model=ScanRead, dependencies=[CROSS_CLIENT])
async def scan(
    request: Request,
    state: StateDep,
    session: SessionDep,
    code: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
) -> ScanRead:
    """Public: what a scanned QR code shows (asset and locale names, open tickets); no login."""
    await state.limiter.hit(state.settings.public_rate_limit, "asset-scan", client_ip(request))
    return await service.scan(session, code=code)


@router.post(
    "/scan/{code}",
    response_model=ScanReportRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CROSS_CLIENT],
)
async def report_fault(
    request: Request,
    body: ScanReportCreate,
    state: StateDep,
    session: SessionDep,
    code: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
) -> ScanReportRead:
    """Public: anyone on site reports a fault on the scanned asset (a ticket); no login."""
    await state.limiter.hit(
        state.settings.public_rate_limit, "asset-scan-report", client_ip(request)
    )
    return await service.report_fault(session, code=code, data=body)


#: The form version of the fault report takes a photo, so its body is bounded like any upload.
scan_form_router = APIRouter(tags=["assets"], route_class=UploadRoute)

AssetPage = Annotated[PageParams, sorted_by(service.ASSET_SORTS)]
StatusChangePage = Annotated[PageParams, sorted_by(service.HISTORY_SORTS)]
BomPage = Annotated[PageParams, sorted_by(service.BOM_SORTS)]


@scan_form_router.post(
    "/scan/{code}/photo-report",
    response_model=ScanReportRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CROSS_CLIENT],
)
async def report_fault_with_photo(
    request: Request,
    state: StateDep,
    session: SessionDep,
    writes: ObjectWritesDep,
    code: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
    reporter_name: Annotated[str, Form(min_length=1, max_length=200)],
    reporter_contact: Annotated[
        str, Form(min_length=3, max_length=200, description="An email address or a phone number")
    ],
    description: Annotated[str, Form(min_length=1, max_length=5000)],
    photo: Annotated[
        UploadFile | None, File(description=f"A photo of the fault ({describe(IMAGE_TYPES)})")
    ] = None,
) -> ScanReportRead:
    """Public: the fault report as a form (``multipart/form-data``) with an optional photo, which
    becomes the new ticket's first attachment (kind ``photo``); no login."""
    await state.limiter.hit(
        state.settings.public_rate_limit, "asset-scan-report", client_ip(request)
    )
    try:
        data = ScanReportCreate(
            reporter_name=reporter_name,
            reporter_contact=reporter_contact,
            description=description,
        )
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None
    received = None
    if photo is not None:
        received = await receive_upload(
            photo,
            max_bytes=state.settings.attachment_max_bytes,
            accepted=IMAGE_TYPES,
            field="photo",
        )
    try:
        return await service.report_fault(
            session, code=code, data=data, photo=received, writes=writes
        )
    finally:
        if received is not None:
            received.close()


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
