"""The public scan page of an asset's QR code: what it shows and the fault reports sent from
it; no login."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from kerops.assets.qr import SCAN_PATH
from kerops.core.deps import CROSS_CLIENT, SessionDep, StateDep, client_ip
from kerops.core.openapi import answers
from kerops.core.storage.sniffing import IMAGE_TYPES, describe
from kerops.core.storage.uploads import ObjectWritesDep, UploadRoute, receive_upload
from kerops.operations import scan as scan_page
from kerops.operations.scan_schemas import ScanRead, ScanReportCreate, ScanReportRead

router = APIRouter(tags=["assets"])
#: The form version of the fault report takes a photo, so its body is bounded like any upload.
form_router = APIRouter(tags=["assets"], route_class=UploadRoute)


def wants_a_page(accept: str | None) -> bool:
    """Whether the caller is a browser asking for a page (HTML, and not JSON)."""
    value = (accept or "").lower()
    return "text/html" in value and "application/json" not in value


@router.get("/scan/{code}", response_model=ScanRead, dependencies=[CROSS_CLIENT])
@answers(429)
async def scan(
    request: Request,
    state: StateDep,
    session: SessionDep,
    code: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")],
) -> ScanRead | Response:
    """Public: what a scanned QR code shows (asset and locale names, open tickets); no login.
    A browser (``Accept: text/html``) opening this address from an older QR label is sent on
    to the asset's scan page (303)."""
    if wants_a_page(request.headers.get("accept")):
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return RedirectResponse(f"{root}{SCAN_PATH}{code}", status_code=status.HTTP_303_SEE_OTHER)
    await state.limiter.hit(state.settings.public_rate_limit, "asset-scan", client_ip(request))
    return await scan_page.scan(session, code=code)


@router.post(
    "/scan/{code}",
    response_model=ScanReportRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CROSS_CLIENT],
)
@answers(429)
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
    return await scan_page.report_fault(session, code=code, data=body)


@form_router.post(
    "/scan/{code}/photo-report",
    response_model=ScanReportRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[CROSS_CLIENT],
)
@answers(429)
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
        return await scan_page.report_fault(
            session, code=code, data=data, photo=received, writes=writes
        )
    finally:
        if received is not None:
            received.close()
