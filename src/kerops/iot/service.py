"""Rules of IoT devices: attached to assets, within the plan, with a hashed device credential."""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset
from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.errors import Conflict, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.limits import enforce_plan_limit
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.security import hash_token, random_token
from kerops.iot.models import IoTDevice
from kerops.iot.schemas import DeviceCreate, DeviceStatus, DeviceUpdate, DeviceWithCredential

CREDENTIAL_PREFIX = "kdv_"
PREFIX_CHARS = 8
_ALPHABET = string.ascii_letters + string.digits
DEVICE_SORTS = {
    "name": IoTDevice.name,
    "created_at": IoTDevice.created_at,
    "serial_number": IoTDevice.serial_number,
}
SERIAL_TAKEN = N_("This client already has a device with that serial number.")


def new_credential() -> tuple[str, str]:
    """A fresh device credential and its visible prefix: ``kdv_XXXXXXXX_<secret>``."""
    prefix = CREDENTIAL_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(PREFIX_CHARS))
    return f"{prefix}_{random_token(32)}", prefix


async def _issue_credential(session: AsyncSession, device: IoTDevice) -> str:
    for _ in range(5):
        credential, prefix = new_credential()
        taken = exists().where(IoTDevice.credential_prefix == prefix)
        if not (await session.execute(select(taken))).scalar():
            break
    else:  # pragma: no cover - 62**8 prefixes make this practically impossible
        raise Conflict(gettext("Could not allocate a credential prefix; try again."))
    device.credential_prefix = prefix
    device.credential_hash = hash_token(credential)
    return credential


def _with_credential(device: IoTDevice, credential: str) -> DeviceWithCredential:
    return DeviceWithCredential.model_validate({**_columns(device), "credential": credential})


def _columns(device: IoTDevice) -> dict[str, object]:
    return {
        key: getattr(device, key)
        for key in DeviceWithCredential.model_fields
        if key != "credential"
    }


async def _ensure_serial_free(
    session: AsyncSession, client_id: uuid.UUID, serial: str, *, exclude_id: uuid.UUID | None = None
) -> None:
    stmt = select(IoTDevice.id).where(
        IoTDevice.client_id == client_id, IoTDevice.serial_number == serial
    )
    if exclude_id is not None:
        stmt = stmt.where(IoTDevice.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(gettext(SERIAL_TAKEN), code="serial_taken")


async def create_device(
    session: AsyncSession, *, principal: Principal, data: DeviceCreate
) -> DeviceWithCredential:
    """Attach a device to an asset the caller manages; its credential is returned this once."""
    asset = await access.get_for_write(session, Asset, data.asset_id, principal)
    await enforce_plan_limit(session, client_id=asset.client_id, resource="iot_devices")
    await _ensure_serial_free(session, asset.client_id, data.serial_number)
    device = IoTDevice(
        client_id=asset.client_id,
        locale_id=asset.locale_id,
        **data.model_dump(exclude={"status"}),
        status=data.status.value,
    )
    credential = await _issue_credential(session, device)
    session.add(device)
    await flush_or_conflict(session, gettext(SERIAL_TAKEN), code="serial_taken")
    return _with_credential(device, credential)


async def list_devices(
    reader: Reader,
    *,
    params: PageParams,
    asset_id: uuid.UUID | None = None,
    locale_id: uuid.UUID | None = None,
    status: DeviceStatus | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the devices the caller can see."""
    stmt = reader.rows(IoTDevice)
    if asset_id is not None:
        stmt = stmt.where(IoTDevice.asset_id == asset_id)
    if locale_id is not None:
        stmt = stmt.where(IoTDevice.locale_id == locale_id)
    if status is not None:
        stmt = stmt.where(IoTDevice.status == status.value)
    if q:
        stmt = stmt.where(
            text_search(q, IoTDevice.name, IoTDevice.serial_number, IoTDevice.device_type)
        )
    return await reader.page(
        stmt, params, sort_fields=DEVICE_SORTS, id_column=IoTDevice.id, default_sort="name"
    )


async def update_device(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, data: DeviceUpdate
) -> IoTDevice:
    """Change a device; moving it to another asset moves it to that asset's locale."""
    device = await access.get_for_write(session, IoTDevice, device_id, principal, for_update=True)
    changes = data.model_dump(exclude_unset=True)
    low = changes.get("min_threshold", device.min_threshold)
    high = changes.get("max_threshold", device.max_threshold)
    if low is not None and high is not None and low > high:
        raise Unprocessable(
            gettext("min_threshold must not be greater than max_threshold."),
            errors=[field_error(("body", "min_threshold"), gettext("greater than max_threshold"))],
        )
    if "asset_id" in changes and changes["asset_id"] != device.asset_id:
        asset = await access.get_for_write(session, Asset, changes["asset_id"], principal)
        if asset.client_id != device.client_id:
            # Staff only (others cannot reach another client's asset): devices stay with a client.
            raise Unprocessable(
                gettext("A device moves only between assets of its own client."),
                errors=[field_error(("body", "asset_id"), gettext("asset of another client"))],
            )
        changes["locale_id"] = asset.locale_id
    if "serial_number" in changes and changes["serial_number"] != device.serial_number:
        await _ensure_serial_free(
            session, device.client_id, changes["serial_number"], exclude_id=device.id
        )
    if "status" in changes:
        changes["status"] = DeviceStatus(changes["status"]).value
    for key, value in changes.items():
        setattr(device, key, value)
    await flush_or_conflict(session, gettext(SERIAL_TAKEN), code="serial_taken")
    await access.ensure_still_in_scope(session, device, principal)
    return device


async def rotate_credential(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID
) -> DeviceWithCredential:
    """Issue a new credential (returned this once); the old one stops working at once."""
    device = await access.get_for_write(session, IoTDevice, device_id, principal, for_update=True)
    credential = await _issue_credential(session, device)
    await flush_or_conflict(session, gettext("Could not allocate a credential prefix; try again."))
    return _with_credential(device, credential)


async def delete_device(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID
) -> None:
    """Remove a device."""
    device = await access.get_for_write(session, IoTDevice, device_id, principal, for_update=True)
    await session.delete(device)
    await session.flush()
