"""Technicians' shifts, availability and certifications (legal licences)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import ShiftType
from kerops.core.filtering import UpdatedSince
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.core.storage.uploads import ObjectWritesDep
from kerops.workforce import service
from kerops.workforce.models import TechnicianCertification, TechnicianShift
from kerops.workforce.schemas import (
    CERT_TYPE_PATTERN,
    Availability,
    CertificationCreate,
    CertificationRead,
    CertificationUpdate,
    Instant,
    ShiftCreate,
    ShiftRead,
    ShiftUpdate,
)

router = APIRouter(prefix="/technicians", tags=["workforce"])

ShiftPage = Annotated[PageParams, sorted_by(service.SHIFT_SORTS)]
CertificationPage = Annotated[PageParams, sorted_by(service.CERT_SORTS)]

SHIFTS = "/shifts"
SHIFT = "/shifts/{shift_id}"
CERTS = "/certifications"
CERT = "/certifications/{certification_id}"
SHIFT_DOCUMENT = Document(TechnicianShift, ShiftRead)
CERTIFICATION_DOCUMENT = Document(TechnicianCertification, CertificationRead)

From = Annotated[Instant | None, Query(alias="from", description="Overlapping from (aware)")]
To = Annotated[Instant | None, Query(alias="to", description="Overlapping until (aware)")]


# --- shifts --------------------------------------------------------------------------------------


@router.post(SHIFTS, response_model=ShiftRead, status_code=status.HTTP_201_CREATED)
async def create_shift(
    body: ShiftCreate, principal: PrincipalDep, session: SessionDep
) -> TechnicianShift:
    """Plan a shift of a technician you manage (409 if it overlaps another of its kind)."""
    return await service.create_shift(session, principal=principal, data=body)


@router.get(SHIFTS, response_model=Page[ShiftRead])
async def list_shifts(
    reader: ReaderDep,
    page: ShiftPage,
    technician_id: uuid.UUID | None = None,
    shift_type: ShiftType | None = None,
    from_: From = None,
    to: To = None,
    updated_since: UpdatedSince = None,
) -> Response:
    """Shifts you can see; ``from``/``to`` keep those overlapping the window (sort: starts_at,
    created_at)."""
    items, cursor = await service.list_shifts(
        reader,
        params=page,
        technician_id=technician_id,
        shift_type=shift_type,
        ends_after=from_,
        updated_since=updated_since,
        starts_before=to,
    )
    return await reader.respond_page(SHIFT_DOCUMENT, items, cursor)


@router.get(SHIFT, response_model=ShiftRead)
async def get_shift(shift_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One shift."""
    return await reader.respond(SHIFT_DOCUMENT, shift_id)


@router.patch(SHIFT, response_model=ShiftRead)
async def update_shift(
    shift_id: uuid.UUID, body: ShiftUpdate, principal: PrincipalDep, session: SessionDep
) -> TechnicianShift:
    """Change a shift's type, times or notes."""
    return await service.update_shift(session, principal=principal, shift_id=shift_id, data=body)


@router.delete(SHIFT, status_code=status.HTTP_204_NO_CONTENT)
async def delete_shift(shift_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Delete a shift."""
    await service.delete_shift(session, principal=principal, shift_id=shift_id)


# --- certifications ------------------------------------------------------------------------------


@router.post(CERTS, response_model=CertificationRead, status_code=status.HTTP_201_CREATED)
async def create_certification(
    body: CertificationCreate, principal: PrincipalDep, session: SessionDep
) -> TechnicianCertification:
    """Record a licence (unverified) of a technician you manage, or your own as a technician."""
    return await service.create_certification(session, principal=principal, data=body)


@router.get(CERTS, response_model=Page[CertificationRead])
async def list_certifications(
    reader: ReaderDep,
    page: CertificationPage,
    technician_id: uuid.UUID | None = None,
    cert_type: Annotated[str | None, Query(pattern=CERT_TYPE_PATTERN)] = None,
    expiring_within_days: Annotated[
        int | None, Query(ge=0, le=3650, description="Expiring between today and today+N")
    ] = None,
    expired: Annotated[bool | None, Query(description="true: already expired")] = None,
    verified: bool | None = None,
    updated_since: UpdatedSince = None,
) -> Response:
    """Licences you can see (sort: expires_date, created_at)."""
    items, cursor = await service.list_certifications(
        reader,
        params=page,
        technician_id=technician_id,
        cert_type=cert_type,
        expiring_within_days=expiring_within_days,
        expired=expired,
        verified=verified,
        updated_since=updated_since,
    )
    return await reader.respond_page(CERTIFICATION_DOCUMENT, items, cursor)


@router.get(CERT, response_model=CertificationRead)
async def get_certification(certification_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One licence."""
    return await reader.respond(CERTIFICATION_DOCUMENT, certification_id)


@router.patch(CERT, response_model=CertificationRead)
async def update_certification(
    certification_id: uuid.UUID,
    body: CertificationUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> TechnicianCertification:
    """Change a licence; changing its data clears the verification."""
    return await service.update_certification(
        session, principal=principal, certification_id=certification_id, data=body
    )


@router.delete(CERT, status_code=status.HTTP_204_NO_CONTENT)
async def delete_certification(
    certification_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    writes: ObjectWritesDep,
) -> None:
    """Delete a licence (a technician only their own unverified ones) with its document."""
    await service.delete_certification(
        session, principal=principal, certification_id=certification_id, writes=writes
    )


@router.post(f"{CERT}/verify", response_model=CertificationRead)
async def verify_certification(
    certification_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> TechnicianCertification:
    """Mark a licence as checked (owner, vendor admin or staff; never by its own technician)."""
    return await service.verify_certification(
        session, principal=principal, certification_id=certification_id
    )


# --- availability --------------------------------------------------------------------------------


@router.get("/{technician_id}/availability", response_model=Availability)
async def availability(
    technician_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    from_: Annotated[Instant, Query(alias="from", description="Window start (aware)")],
    to: Annotated[Instant, Query(description="Window end (aware; at most 62 days later)")],
) -> Availability:
    """Working, unavailable and available time of a technician within a window (merged)."""
    return await service.availability(
        session, principal=principal, technician_id=technician_id, starts_at=from_, ends_at=to
    )
