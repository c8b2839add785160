"""Vendors: KER's platform contractor network and each client's private contractors."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from kerops.core.access import ensure_still_in_scope, get_scoped
from kerops.core.db import flush_or_conflict
from kerops.core.enums import UserRole
from kerops.core.errors import Conflict, Forbidden, NotFound
from kerops.core.filtering import text_search
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.users import clients
from kerops.users import service as user_service
from kerops.users.models import User, Vendor
from kerops.users.schemas import VendorCreate, VendorUpdate

VENDOR_SORT_FIELDS: dict[str, InstrumentedAttribute[Any]] = {
    "name": Vendor.name,
    "created_at": Vendor.created_at,
}


def _rut_taken_error() -> Conflict:
    return Conflict(
        gettext("Another vendor of the same client (or of the platform network) has this RUT."),
        code="rut_taken",
    )


def _same_rut(rut: str) -> ColumnElement[bool]:
    # Compare without thousands separators, whatever form an older row was stored in.
    return func.upper(func.replace(Vendor.rut, ".", "")) == rut


async def _ensure_rut_free(
    session: AsyncSession,
    *,
    client_id: uuid.UUID | None,
    rut: str,
    exclude_id: uuid.UUID | None = None,
) -> None:
    owner = Vendor.client_id.is_(None) if client_id is None else Vendor.client_id == client_id
    stmt = select(Vendor.id).where(owner, _same_rut(rut))
    if exclude_id is not None:
        stmt = stmt.where(Vendor.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise _rut_taken_error()


async def _flush(session: AsyncSession) -> None:
    error = _rut_taken_error()  # a concurrent request registered the same RUT
    await flush_or_conflict(session, error.detail, code=error.code)


async def create_vendor(
    session: AsyncSession, *, principal: Principal, data: VendorCreate
) -> Vendor:
    """Register a platform vendor (staff) or a client's private vendor (staff or its owner)."""
    if not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(gettext("Only client owners and platform staff can register vendors."))
    client_id = data.client_id
    if client_id is None and not principal.is_staff:
        client_id = principal.client_id
    if client_id is not None:
        await clients.check_client(session, principal, client_id)
    await _ensure_rut_free(session, client_id=client_id, rut=data.rut)
    vendor = Vendor(**data.model_dump(exclude={"client_id"}), client_id=client_id)
    session.add(vendor)
    await _flush(session)
    return vendor


async def list_vendors(
    reader: Reader,
    *,
    params: PageParams,
    q: str | None = None,
    is_active: bool | None = None,
    client_id: uuid.UUID | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the vendors the caller may see: the platform directory and their own."""
    stmt = reader.rows(Vendor)
    if q:
        # A RUT is stored without dots, so "76.086" finds "76086428-5".
        stmt = stmt.where(
            or_(
                text_search(q, Vendor.name),
                text_search(q.replace(".", ""), Vendor.rut),
            )
        )
    if is_active is not None:
        stmt = stmt.where(Vendor.is_active.is_(is_active))
    if client_id is not None:
        stmt = stmt.where(Vendor.client_id == client_id)
    return await reader.page(
        stmt,
        params,
        sort_fields=VENDOR_SORT_FIELDS,
        id_column=Vendor.id,
        default_sort="name",
    )


async def update_vendor(
    session: AsyncSession, *, principal: Principal, vendor_id: uuid.UUID, changes: VendorUpdate
) -> Vendor:
    """Change a vendor (staff, the owning client's owner, or the vendor's own admin)."""
    vendor = await get_scoped(session, Vendor, vendor_id, principal, "write")
    values = changes.model_dump(exclude_unset=True)
    if "is_active" in values and not (principal.is_staff or principal.is_client_admin):
        raise Forbidden(gettext("A vendor cannot activate or deactivate itself."))
    rut = values.get("rut")
    if rut is not None and rut != vendor.rut:
        await _ensure_rut_free(session, client_id=vendor.client_id, rut=rut, exclude_id=vendor.id)
    for key, value in values.items():
        setattr(vendor, key, value)
    await _flush(session)
    await ensure_still_in_scope(session, vendor, principal)
    return vendor


async def delete_vendor(
    session: AsyncSession, *, principal: Principal, vendor_id: uuid.UUID
) -> None:
    """Delete a vendor that no longer has users (staff or the owning client's owner)."""
    vendor = await get_scoped(session, Vendor, vendor_id, principal, "write", for_update=True)
    if principal.role is UserRole.vendor_admin:
        raise Forbidden(gettext("A vendor cannot delete itself."))
    count_stmt = select(func.count()).select_from(User).where(User.vendor_id == vendor.id)
    users = int((await session.execute(count_stmt)).scalar_one())
    if users:
        raise Conflict(
            gettext(
                "This vendor still has {users} user(s); deactivate the vendor instead, or move "
                "or remove its users first.",
                users=users,
            ),
            code="vendor_has_users",
            users=users,
        )
    await session.delete(vendor)
    await flush_or_conflict(  # other records still point at this vendor
        session,
        gettext("Other records still refer to this vendor; deactivate it instead."),
        code="vendor_in_use",
    )


async def list_members(
    reader: Reader,
    *,
    vendor_id: uuid.UUID,
    params: PageParams,
    role: UserRole | None = None,
    is_active: bool | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """The users of a vendor: for staff, the vendor's admins and the owning client's owner."""
    # Those who may manage the vendor may see its people (the write rule of vendors); those
    # who only read it get a 403, others a 404.
    try:
        await reader.row(Vendor, vendor_id, "write")
    except NotFound:
        await reader.row(Vendor, vendor_id)
        raise Forbidden(
            gettext("Only the vendor's admins and its client's owner see its people.")
        ) from None
    return await user_service.list_users(
        reader, params=params, role=role, is_active=is_active, vendor_id=vendor_id, q=q
    )
