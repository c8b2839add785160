"""Routes under /vendors: the contractor directory, private vendors and their people."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import UserRole
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.users import service as users_service
from kerops.users import vendors as service
from kerops.users.models import User, Vendor
from kerops.users.schemas import UserRead, VendorCreate, VendorRead, VendorUpdate

router = APIRouter(prefix="/vendors", tags=["vendors"])

VendorPage = Annotated[PageParams, sorted_by(service.VENDOR_SORT_FIELDS)]
VendorMemberPage = Annotated[PageParams, sorted_by(users_service.USER_SORT_FIELDS)]
VENDOR_DOCUMENT = Document(Vendor, VendorRead)
MEMBER_DOCUMENT = Document(User, UserRead)

Search = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.post("", response_model=VendorRead, status_code=status.HTTP_201_CREATED)
async def create_vendor(body: VendorCreate, principal: PrincipalDep, session: SessionDep) -> Vendor:
    """Register a vendor: platform-wide (staff) or private to a client (its owner, or staff)."""
    return await service.create_vendor(session, principal=principal, data=body)


@router.get("", response_model=Page[VendorRead])
async def list_vendors(
    reader: ReaderDep,
    page: VendorPage,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Name or RUT")] = None,
    is_active: bool | None = None,
    client_id: uuid.UUID | None = None,
) -> Response:
    """The platform vendor directory plus your own vendors; sort by name or created_at."""
    items, cursor = await service.list_vendors(
        reader, params=page, q=q, is_active=is_active, client_id=client_id
    )
    return await reader.respond_page(VENDOR_DOCUMENT, items, cursor)


@router.get("/{vendor_id}", response_model=VendorRead)
async def get_vendor(vendor_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One vendor."""
    return await reader.respond(VENDOR_DOCUMENT, vendor_id)


@router.patch("/{vendor_id}", response_model=VendorRead)
async def update_vendor(
    vendor_id: uuid.UUID, body: VendorUpdate, principal: PrincipalDep, session: SessionDep
) -> Vendor:
    """Change a vendor (staff, the owning client's owner, or the vendor's own admin)."""
    return await service.update_vendor(
        session, principal=principal, vendor_id=vendor_id, changes=body
    )


@router.delete("/{vendor_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_vendor(vendor_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Delete a vendor without users (409 while it still has some)."""
    await service.delete_vendor(session, principal=principal, vendor_id=vendor_id)


@router.get("/{vendor_id}/members", response_model=Page[UserRead])
async def list_vendor_members(
    vendor_id: uuid.UUID,
    reader: ReaderDep,
    page: VendorMemberPage,
    role: UserRole | None = None,
    is_active: bool | None = None,
    q: Search = None,
) -> Response:
    """The people of a vendor (staff, the vendor's admins, the owning client's owner)."""
    async with reader.sharing():  # the vendor, its write check and the page: one connection
        items, cursor = await service.list_members(
            reader, vendor_id=vendor_id, params=page, role=role, is_active=is_active, q=q
        )
        return await reader.respond_page(MEMBER_DOCUMENT, items, cursor)
