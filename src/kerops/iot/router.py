"""IoT devices attached to assets."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.idempotency.http import not_replayable
from kerops.iot import service
from kerops.iot.models import IoTDevice
from kerops.iot.schemas import (
    DeviceCreate,
    DeviceRead,
    DeviceStatus,
    DeviceUpdate,
    DeviceWithCredential,
)

router = APIRouter(tags=["iot"])

DevicePage = Annotated[PageParams, sorted_by(service.DEVICE_SORTS)]

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
DEVICE = "/iot-devices/{device_id}"
DEVICE_DOCUMENT = Document(IoTDevice, DeviceRead)


@router.post(
    "/iot-devices", response_model=DeviceWithCredential, status_code=status.HTTP_201_CREATED
)
@not_replayable
async def create_device(
    body: DeviceCreate, principal: PrincipalDep, session: SessionDep
) -> DeviceWithCredential:
    """Attach a device to an asset; the response carries its credential, shown only this once."""
    return await service.create_device(session, principal=principal, data=body)


@router.get("/iot-devices", response_model=Page[DeviceRead])
async def list_devices(
    reader: ReaderDep,
    page: DevicePage,
    asset_id: uuid.UUID | None = None,
    locale_id: uuid.UUID | None = None,
    status: DeviceStatus | None = None,
    q: TextFilter = None,
) -> Response:
    """The devices the caller can see (sort: name, created_at, serial_number)."""
    items, cursor = await service.list_devices(
        reader,
        params=page,
        asset_id=asset_id,
        locale_id=locale_id,
        status=status,
        q=q,
    )
    return await reader.respond_page(DEVICE_DOCUMENT, items, cursor)


@router.get(DEVICE, response_model=DeviceRead)
async def get_device(device_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One device (never its credential)."""
    return await reader.respond(DEVICE_DOCUMENT, device_id)


@router.patch(DEVICE, response_model=DeviceRead)
async def update_device(
    device_id: uuid.UUID, body: DeviceUpdate, principal: PrincipalDep, session: SessionDep
) -> IoTDevice:
    """Change a device or move it to another asset."""
    return await service.update_device(session, principal=principal, device_id=device_id, data=body)


@router.delete(DEVICE, status_code=status.HTTP_204_NO_CONTENT)
async def delete_device(device_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Remove a device."""
    await service.delete_device(session, principal=principal, device_id=device_id)


@router.post(f"{DEVICE}/rotate-credential", response_model=DeviceWithCredential)
@not_replayable
async def rotate_credential(
    device_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> DeviceWithCredential:
    """Issue a new device credential (shown this once); the old one stops working."""
    return await service.rotate_credential(session, principal=principal, device_id=device_id)
