"""Rules of technicians' shifts (no overlaps, availability) and certifications (legal licences).

Who manages whom: a client's owner manages the client's technicians, a vendor admin the vendor's,
platform staff everyone. A technician reads their own records and may record their own licences.
Shifts fall in two categories: working time, and absences (day off, sick leave, vacation). Two
shifts of one category may not overlap; an absence may lie over working time and cuts it out of
the technician's availability.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.enums import ShiftType, UserRole
from kerops.core.errors import Conflict, Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.models import Base
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.storage.sniffing import BY_EXTENSION, IMAGE_TYPES
from kerops.core.storage.uploads import ObjectWrites, ReceivedFile
from kerops.core.types import utcnow, uuid7
from kerops.users.models import User
from kerops.workforce import access_rules as workforce_rules
from kerops.workforce import licences
from kerops.workforce.models import TechnicianCertification, TechnicianShift
from kerops.workforce.schemas import (
    MAX_AVAILABILITY_WINDOW,
    MAX_SHIFT,
    Availability,
    CertificationCreate,
    CertificationUpdate,
    Interval,
    ShiftCreate,
    ShiftUpdate,
    shift_span_problem,
)

M = TypeVar("M", bound=Base)

SHIFT_SORTS = {"starts_at": TechnicianShift.starts_at, "created_at": TechnicianShift.created_at}
CERT_SORTS = {
    "expires_date": TechnicianCertification.expires_date,
    "created_at": TechnicianCertification.created_at,
}
ABSENCES = (ShiftType.day_off, ShiftType.sick_leave, ShiftType.vacation)
#: Fields of a licence whose change voids its verification.
VERIFIED_FIELDS = frozenset({"cert_type", "number", "issuer", "issued_date", "expires_date"})

Span = tuple[datetime, datetime]


# --- helpers -------------------------------------------------------------------------------------


def _is_manager(principal: Principal) -> bool:
    return (
        principal.is_staff or principal.is_client_admin or principal.role is UserRole.vendor_admin
    )


def _technicians(principal: Principal, action: access.Action, *, technician_writes: bool) -> Any:
    """Users who are within the principal's workforce reach (any role; checked by the caller)."""
    return workforce_rules.workforce_predicate(
        principal,
        action,
        technician=User.id,
        client=User.client_id,
        vendor=User.vendor_id,
        technician_writes=technician_writes,
    )


async def _technician(
    session: AsyncSession,
    principal: Principal,
    technician_id: uuid.UUID,
    *,
    technician_writes: bool = False,
    loc: tuple[str | int, ...] = ("body", "technician_id"),
) -> User:
    """Lock and load a technician the caller manages: 404 outside reach, 422 for another role.

    The row lock (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers) orders
    concurrent writes of one technician's schedule, so the overlap check cannot be raced.
    """
    stmt = (
        select(User)
        .where(User.id == technician_id)
        .where(_technicians(principal, "write", technician_writes=technician_writes))
        .with_for_update()
    )
    user = (await session.execute(stmt)).scalar_one_or_none()
    if user is None:
        raise NotFound(gettext("technician not found"))
    if user.role is not UserRole.technician:
        raise Unprocessable(
            gettext("This user is not a technician."),
            errors=[field_error(loc, gettext("not a technician"), "not_a_technician")],
        )
    return user


# --- shifts --------------------------------------------------------------------------------------


def _category(shift_type: ShiftType) -> tuple[ShiftType, ...]:
    return ABSENCES if shift_type in ABSENCES else (ShiftType.working,)


async def _ensure_no_overlap(
    session: AsyncSession,
    *,
    technician_id: uuid.UUID,
    shift_type: ShiftType,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: uuid.UUID | None = None,
) -> None:
    """Refuse a span overlapping another shift of the same category (touching ends are fine)."""
    stmt = select(TechnicianShift).where(
        TechnicianShift.technician_id == technician_id,
        TechnicianShift.shift_type.in_(_category(shift_type)),
        TechnicianShift.starts_at < ends_at,
        TechnicianShift.ends_at > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(TechnicianShift.id != exclude_id)
    other = (
        (await session.execute(stmt.order_by(TechnicianShift.starts_at).limit(1))).scalars().first()
    )
    if other is not None:
        raise Conflict(
            gettext(
                "This overlaps shift {id} ({shift_type}, {starts_at} to {ends_at}).",
                id=other.id,
                shift_type=other.shift_type.value,
                starts_at=other.starts_at.isoformat(),
                ends_at=other.ends_at.isoformat(),
            ),
            code="shift_overlap",
            overlapping_shift_id=str(other.id),
        )


async def create_shift(
    session: AsyncSession, *, principal: Principal, data: ShiftCreate
) -> TechnicianShift:
    """Plan a shift of a technician the caller manages (no overlap within its category)."""
    if not _is_manager(principal):
        raise Forbidden(
            gettext("Only the technician's owner, vendor admin or platform staff plan shifts.")
        )
    technician = await _technician(session, principal, data.technician_id)
    await _ensure_no_overlap(
        session,
        technician_id=technician.id,
        shift_type=data.shift_type,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    shift = TechnicianShift(
        technician_id=technician.id,
        client_id=technician.client_id,
        vendor_id=technician.vendor_id,
        **data.model_dump(exclude={"technician_id"}),
    )
    session.add(shift)
    await access.ensure_still_in_scope(session, shift, principal)
    return shift


async def list_shifts(
    reader: Reader,
    *,
    params: PageParams,
    technician_id: uuid.UUID | None = None,
    shift_type: ShiftType | None = None,
    starts_before: datetime | None = None,
    ends_after: datetime | None = None,
    updated_since: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the shifts the caller can see; ``from``/``to`` keep those overlapping."""
    stmt = reader.rows(TechnicianShift)
    if technician_id is not None:
        stmt = stmt.where(TechnicianShift.technician_id == technician_id)
    if shift_type is not None:
        stmt = stmt.where(TechnicianShift.shift_type == shift_type)
    if ends_after is not None:
        stmt = stmt.where(TechnicianShift.ends_at > ends_after)
    if starts_before is not None:
        stmt = stmt.where(TechnicianShift.starts_at < starts_before)
    if updated_since is not None:
        stmt = stmt.where(TechnicianShift.updated_at >= updated_since)
    return await reader.page(
        stmt,
        params,
        sort_fields=SHIFT_SORTS,
        id_column=TechnicianShift.id,
        default_sort="starts_at",
    )


async def update_shift(
    session: AsyncSession, *, principal: Principal, shift_id: uuid.UUID, data: ShiftUpdate
) -> TechnicianShift:
    """Change a shift's type, times or notes (still no overlap within its category)."""
    shift = await access.get_for_write(session, TechnicianShift, shift_id, principal)
    changes = data.model_dump(exclude_unset=True)
    if {"shift_type", "starts_at", "ends_at"} & changes.keys():
        await _technician(session, principal, shift.technician_id, loc=("path", "shift_id"))
        starts_at = changes.get("starts_at", shift.starts_at)
        ends_at = changes.get("ends_at", shift.ends_at)
        span = shift_span_problem(starts_at, ends_at)
        if span:
            problem = span.translated()
            field = "ends_at" if "ends_at" in changes else "starts_at"
            raise Unprocessable(problem, errors=[field_error(("body", field), problem)])
        await _ensure_no_overlap(
            session,
            technician_id=shift.technician_id,
            shift_type=changes.get("shift_type", shift.shift_type),
            starts_at=starts_at,
            ends_at=ends_at,
            exclude_id=shift.id,
        )
    for key, value in changes.items():
        setattr(shift, key, value)
    await access.ensure_still_in_scope(session, shift, principal)
    return shift


async def delete_shift(session: AsyncSession, *, principal: Principal, shift_id: uuid.UUID) -> None:
    """Delete a shift."""
    shift = await access.get_for_write(session, TechnicianShift, shift_id, principal)
    await session.delete(shift)
    await session.flush()


# --- availability --------------------------------------------------------------------------------


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sort and merge overlapping or touching spans."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """The parts of merged ``spans`` not covered by merged ``cuts``."""
    result: list[Span] = []
    for start, end in spans:
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def _intervals(spans: list[Span]) -> list[Interval]:
    return [Interval(starts_at=s, ends_at=e) for s, e in spans]


async def availability(
    session: AsyncSession,
    *,
    principal: Principal,
    technician_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
) -> Availability:
    """A technician's working, unavailable and available time within a window."""
    if ends_at <= starts_at:
        raise Unprocessable(
            gettext("'to' must be after 'from'."),
            errors=[field_error(("query", "to"), gettext("must be after 'from'"))],
        )
    if ends_at - starts_at > MAX_AVAILABILITY_WINDOW:
        problem = gettext("the window spans at most {days} days", days=MAX_AVAILABILITY_WINDOW.days)
        raise Unprocessable(problem, errors=[field_error(("query", "to"), problem)])
    stmt = select(User.id).where(
        User.id == technician_id,
        User.role == UserRole.technician,
        _technicians(principal, "read", technician_writes=False),
    )
    if (await session.execute(stmt)).first() is None:
        raise NotFound(gettext("technician not found"))
    columns: Any = select(
        TechnicianShift.shift_type, TechnicianShift.starts_at, TechnicianShift.ends_at
    )
    shifts = access.scoped(columns, TechnicianShift, principal).where(
        TechnicianShift.technician_id == technician_id,
        # Shifts last at most MAX_SHIFT: this bound lets the (technician, starts_at) index serve.
        TechnicianShift.starts_at > starts_at - MAX_SHIFT,
        TechnicianShift.starts_at < ends_at,
        TechnicianShift.ends_at > starts_at,
    )
    working: list[Span] = []
    absent: list[Span] = []
    for shift_type, start, end in (await session.execute(shifts)).all():
        span = (max(start, starts_at), min(end, ends_at))
        (working if shift_type is ShiftType.working else absent).append(span)
    work, away = merge(working), merge(absent)
    return Availability(
        technician_id=technician_id,
        starts_at=starts_at,
        ends_at=ends_at,
        working=_intervals(work),
        unavailable=_intervals(away),
        available=_intervals(subtract(work, away)),
    )


# --- certifications ------------------------------------------------------------------------------


async def _ensure_number_free(
    session: AsyncSession,
    *,
    technician_id: uuid.UUID,
    cert_type: str,
    number: str,
    exclude_id: uuid.UUID | None = None,
) -> None:
    stmt = select(TechnicianCertification.id).where(
        TechnicianCertification.technician_id == technician_id,
        TechnicianCertification.cert_type == cert_type,
        TechnicianCertification.number == number,
    )
    if exclude_id is not None:
        stmt = stmt.where(TechnicianCertification.id != exclude_id)
    existing = (await session.execute(stmt.limit(1))).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            gettext(
                "This technician already has licence {cert_type} number {number} ({existing}).",
                cert_type=cert_type,
                number=number,
                existing=existing,
            ),
            code="certification_exists",
        )


async def create_certification(
    session: AsyncSession, *, principal: Principal, data: CertificationCreate
) -> TechnicianCertification:
    """Record a licence of a technician the caller manages, or of the technician themself."""
    if not (_is_manager(principal) or principal.role is UserRole.technician):
        raise Forbidden(
            gettext("Only the technician, their owner or vendor admin record licences.")
        )
    technician = await _technician(session, principal, data.technician_id, technician_writes=True)
    await _ensure_number_free(
        session, technician_id=technician.id, cert_type=data.cert_type, number=data.number
    )
    cert = TechnicianCertification(
        technician_id=technician.id,
        client_id=technician.client_id,
        vendor_id=technician.vendor_id,
        **data.model_dump(exclude={"technician_id"}),
    )
    session.add(cert)
    await access.ensure_still_in_scope(session, cert, principal)
    return cert


async def list_certifications(
    reader: Reader,
    *,
    params: PageParams,
    technician_id: uuid.UUID | None = None,
    cert_type: str | None = None,
    expiring_within_days: int | None = None,
    expired: bool | None = None,
    verified: bool | None = None,
    updated_since: datetime | None = None,
    today: date | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the licences the caller can see (``expired`` and ``expiring_within_days``
    count from today in Santiago's calendar: a licence is valid through its expiry date)."""
    today = today or licences.licence_day()
    model = TechnicianCertification
    stmt = reader.rows(model)
    if technician_id is not None:
        stmt = stmt.where(model.technician_id == technician_id)
    if cert_type is not None:
        stmt = stmt.where(model.cert_type == cert_type)
    if expiring_within_days is not None:
        until = today + timedelta(days=expiring_within_days)
        stmt = stmt.where(model.expires_date >= today, model.expires_date <= until)
    if expired is True:
        stmt = stmt.where(model.expires_date < today)
    elif expired is False:
        stmt = stmt.where((model.expires_date.is_(None)) | (model.expires_date >= today))
    if verified is not None:
        stmt = stmt.where(
            model.verified_at.is_not(None) if verified else model.verified_at.is_(None)
        )
    if updated_since is not None:
        stmt = stmt.where(model.updated_at >= updated_since)
    return await reader.page(
        stmt, params, sort_fields=CERT_SORTS, id_column=model.id, default_sort="created_at"
    )


async def get_certification(
    session: AsyncSession, *, principal: Principal, certification_id: uuid.UUID
) -> TechnicianCertification:
    """One licence the caller can see."""
    return await access.get_scoped(session, TechnicianCertification, certification_id, principal)


def _refuse_technician_on_verified(principal: Principal, cert: TechnicianCertification) -> None:
    if principal.role is UserRole.technician and cert.verified_at is not None:
        raise Forbidden(
            gettext("A verified licence can only be changed by your owner or vendor admin."),
            code="certification_verified",
        )


async def update_certification(
    session: AsyncSession,
    *,
    principal: Principal,
    certification_id: uuid.UUID,
    data: CertificationUpdate,
) -> TechnicianCertification:
    """Change a licence; a change of its data clears the verification."""
    cert = await access.get_for_write(session, TechnicianCertification, certification_id, principal)
    _refuse_technician_on_verified(principal, cert)
    changes = data.model_dump(exclude_unset=True)
    issued = changes.get("issued_date", cert.issued_date)
    expires = changes.get("expires_date", cert.expires_date)
    if issued is not None and expires is not None and expires < issued:
        problem = gettext("expires_date must not be before issued_date")
        field = "expires_date" if "expires_date" in changes else "issued_date"
        raise Unprocessable(problem, errors=[field_error(("body", field), problem)])
    if "cert_type" in changes or "number" in changes:
        await _technician(
            session,
            principal,
            cert.technician_id,
            technician_writes=True,
            loc=("path", "certification_id"),
        )
        await _ensure_number_free(
            session,
            technician_id=cert.technician_id,
            cert_type=changes.get("cert_type", cert.cert_type),
            number=changes.get("number", cert.number),
            exclude_id=cert.id,
        )
    really_changed = {k for k, v in changes.items() if getattr(cert, k) != v}
    for key, value in changes.items():
        setattr(cert, key, value)
    if really_changed & VERIFIED_FIELDS:
        cert.verified_by_id = None
        cert.verified_at = None
    await access.ensure_still_in_scope(session, cert, principal)
    return cert


async def delete_certification(
    session: AsyncSession,
    *,
    principal: Principal,
    certification_id: uuid.UUID,
    writes: ObjectWrites | None = None,
) -> None:
    """Delete a licence (a technician only their own unverified ones) and then its document."""
    cert = await access.get_for_write(session, TechnicianCertification, certification_id, principal)
    _refuse_technician_on_verified(principal, cert)
    await session.delete(cert)
    await session.flush()
    if writes is not None and cert.document_key:
        writes.release(cert.document_key)


async def verify_certification(
    session: AsyncSession, *, principal: Principal, certification_id: uuid.UUID
) -> TechnicianCertification:
    """Mark a licence as checked (owner, vendor admin or staff; never the technician's own)."""
    cert = await access.get_for_write(session, TechnicianCertification, certification_id, principal)
    if not _is_manager(principal) or cert.technician_id == principal.user_id:
        raise Forbidden(
            gettext(
                "A licence is verified by the technician's owner, vendor admin or platform staff."
            ),
            code="cannot_verify",
        )
    if cert.verified_at is None:
        cert.verified_by_id = principal.user_id
        cert.verified_at = utcnow()
        await session.flush()
    return cert


# --- certification documents ---------------------------------------------------------------------

#: A licence's document is a scan or photo of it: a PDF or an image.
DOCUMENT_TYPES = frozenset({"application/pdf", *IMAGE_TYPES})


async def certification_for_document(
    session: AsyncSession, *, principal: Principal, certification_id: uuid.UUID
) -> TechnicianCertification:
    """A licence whose document the caller may replace: whoever may change the licence."""
    cert = await access.get_for_write(session, TechnicianCertification, certification_id, principal)
    _refuse_technician_on_verified(principal, cert)
    return cert


async def set_certification_document(
    session: AsyncSession,
    *,
    cert: TechnicianCertification,
    received: ReceivedFile,
    writes: ObjectWrites,
) -> TechnicianCertification:
    """Store a licence's document under a new key; the previous one goes once this committed.

    A new document clears the verification: what was checked was the previous one.
    """
    owner = cert.client_id or cert.vendor_id
    extension = received.file_type.extensions[0]
    key = f"{owner}/certifications/{cert.id}/{uuid7()}.{extension}"
    await writes.put(key, received.file, content_type=received.media_type)
    previous = cert.document_key
    cert.document_key = key
    cert.verified_by_id = None
    cert.verified_at = None
    await session.flush()
    if previous and previous != key:
        writes.release(previous)
    return cert


async def certification_document(
    session: AsyncSession, *, principal: Principal, certification_id: uuid.UUID
) -> tuple[str, str, str]:
    """A licence's document to download: its key, media type and a file name for it."""
    cert = await get_certification(session, principal=principal, certification_id=certification_id)
    if not cert.document_key:
        raise NotFound(gettext("This licence has no document yet."), code="document_missing")
    extension = cert.document_key.rpartition(".")[2]
    file_type = BY_EXTENSION.get(extension)
    media_type = file_type.media_type if file_type else "application/octet-stream"
    return cert.document_key, media_type, f"{cert.cert_type}-{cert.number}.{extension}"
