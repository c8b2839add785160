"""The document of a technician's licence (a scan or photo): upload and download."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import StreamingResponse

from kerops.core.deps import AuthenticatedUploadRoute, PrincipalDep, SessionDep, StateDep
from kerops.core.storage.backends import StorageDep
from kerops.core.storage.downloads import download_headers, safe_filename
from kerops.core.storage.sniffing import describe
from kerops.core.storage.uploads import ObjectWritesDep, receive_upload
from kerops.workforce import service
from kerops.workforce.models import TechnicianCertification
from kerops.workforce.schemas import CertificationRead

router = APIRouter(prefix="/technicians", tags=["workforce"], route_class=AuthenticatedUploadRoute)

DOCUMENT = "/certifications/{certification_id}/document"

DOCUMENT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The licence's document, in the media type found when it was uploaded.",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in sorted(service.DOCUMENT_TYPES)
        },
    }
}


async def _certification_for_document(
    certification_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> TechnicianCertification:
    # A dependency, so the access check answers before the form's fields are validated.
    return await service.certification_for_document(
        session, principal=principal, certification_id=certification_id
    )


@router.put(DOCUMENT, response_model=CertificationRead)
async def upload_certification_document(
    cert: Annotated[TechnicianCertification, Depends(_certification_for_document)],
    session: SessionDep,
    state: StateDep,
    writes: ObjectWritesDep,
    file: Annotated[
        UploadFile, File(description=f"A scan or photo ({describe(service.DOCUMENT_TYPES)})")
    ],
) -> TechnicianCertification:
    """Attach or replace a licence's document (whoever may change the licence); a new document
    clears the verification."""
    received = await receive_upload(
        file, max_bytes=state.settings.attachment_max_bytes, accepted=service.DOCUMENT_TYPES
    )
    try:
        return await service.set_certification_document(
            session, cert=cert, received=received, writes=writes
        )
    finally:
        received.close()


@router.get(DOCUMENT, response_class=StreamingResponse, responses=DOCUMENT_RESPONSE)
async def download_certification_document(
    certification_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    storage: StorageDep,
) -> StreamingResponse:
    """Download a licence's document (whoever may read the licence)."""
    key, media_type, filename = await service.certification_document(
        session, principal=principal, certification_id=certification_id
    )
    size, chunks = await storage.open(key)
    return StreamingResponse(
        chunks, media_type=media_type, headers=download_headers(safe_filename(filename), size)
    )
