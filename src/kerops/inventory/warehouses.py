"""Rules of warehouses: a client's central stores, its locales' storerooms and its
technicians' vans."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import UserRole, WarehouseKind
from kerops.core.errors import Conflict, NotFound
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.inventory.checks import invalid
from kerops.inventory.models import InventoryMovement, InventoryStock, Warehouse
from kerops.inventory.store_schemas import WarehouseCreate, WarehouseUpdate
from kerops.tenancy.models import Locale
from kerops.users.models import Client, User

WAREHOUSE_SORTS = {
    "code": Warehouse.code,
    "name": Warehouse.name,
    "created_at": Warehouse.created_at,
}
CODE_TAKEN = N_("This client already has a warehouse with that code.")


async def _client_of_new(
    session: AsyncSession, principal: Principal, data: WarehouseCreate, locale: Locale | None
) -> uuid.UUID:
    """The client a new warehouse belongs to: the caller's (staff: the one named, or the
    locale's)."""
    if principal.is_staff:
        client_id = data.client_id or (locale.client_id if locale is not None else None)
        if client_id is None or await session.get(Client, client_id) is None:
            raise NotFound(gettext("client not found"))
        return client_id
    if principal.client_id is None or data.client_id not in (None, principal.client_id):
        raise NotFound(gettext("client not found"))
    return principal.client_id


async def _technician(session: AsyncSession, client_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """404 unless ``user_id`` is a technician of the client."""
    found = await session.execute(
        select(User.id).where(
            User.id == user_id, User.client_id == client_id, User.role == UserRole.technician
        )
    )
    if found.first() is None:
        raise NotFound(gettext("user not found"))


def _shape_error(field: str) -> Exception:
    messages = {
        "locale_id": N_("A locale's storeroom names its locale, and only it does."),
        "technician_id": N_("A van names its technician, and only a van does."),
    }
    return invalid(("body", field), gettext(messages[field]), "warehouse_shape")


def _check_shape(kind: WarehouseKind, locale_id: Any, technician_id: Any) -> None:
    if (kind is WarehouseKind.locale) != (locale_id is not None):
        raise _shape_error("locale_id")
    if (kind is WarehouseKind.van) != (technician_id is not None):
        raise _shape_error("technician_id")


async def _ensure_code_free(
    session: AsyncSession, client_id: uuid.UUID, code: str, exclude_id: uuid.UUID | None = None
) -> None:
    stmt = select(Warehouse.id).where(Warehouse.client_id == client_id, Warehouse.code == code)
    if exclude_id is not None:
        stmt = stmt.where(Warehouse.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(gettext(CODE_TAKEN), code="warehouse_code_taken")


async def create_warehouse(
    session: AsyncSession, *, principal: Principal, data: WarehouseCreate
) -> Warehouse:
    """Create a warehouse the caller may manage (a storeroom in a locale they manage)."""
    _check_shape(data.kind, data.locale_id, data.technician_id)
    locale = None
    if data.locale_id is not None:
        locale = await access.get_scoped(session, Locale, data.locale_id, principal)
    client_id = await _client_of_new(session, principal, data, locale)
    if locale is not None and locale.client_id != client_id:
        raise NotFound(access.not_found_detail(Locale))
    if data.technician_id is not None:
        await _technician(session, client_id, data.technician_id)
    await _ensure_code_free(session, client_id, data.code)
    warehouse = Warehouse(client_id=client_id, **data.model_dump(exclude={"client_id"}))
    session.add(warehouse)
    await flush_or_conflict(session, gettext(CODE_TAKEN), code="warehouse_code_taken")
    await access.ensure_still_in_scope(session, warehouse, principal)
    return warehouse


async def list_warehouses(
    reader: Reader,
    *,
    params: PageParams,
    kind: WarehouseKind | None = None,
    locale_id: uuid.UUID | None = None,
    is_active: bool | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the warehouses the caller reads."""
    stmt = reader.rows(Warehouse)
    if kind is not None:
        stmt = stmt.where(Warehouse.kind == kind)
    if locale_id is not None:
        stmt = stmt.where(Warehouse.locale_id == locale_id)
    if is_active is not None:
        stmt = stmt.where(Warehouse.is_active.is_(is_active))
    if q:
        stmt = stmt.where(text_search(q, Warehouse.code, Warehouse.name))
    return await reader.page(
        stmt, params, sort_fields=WAREHOUSE_SORTS, id_column=Warehouse.id, default_sort="code"
    )


async def update_warehouse(
    session: AsyncSession, *, principal: Principal, warehouse_id: uuid.UUID, data: WarehouseUpdate
) -> Warehouse:
    """Rename, recode, (de)activate a warehouse, or give a van to another technician."""
    warehouse = await access.get_for_write(session, Warehouse, warehouse_id, principal)
    changes = data.model_dump(exclude_unset=True)
    if "technician_id" in changes:
        _check_shape(warehouse.kind, warehouse.locale_id, changes["technician_id"])
        await _technician(session, warehouse.client_id, changes["technician_id"])
    if "code" in changes and changes["code"] != warehouse.code:
        await _ensure_code_free(session, warehouse.client_id, changes["code"], warehouse.id)
    for key, value in changes.items():
        setattr(warehouse, key, value)
    await flush_or_conflict(session, gettext(CODE_TAKEN), code="warehouse_code_taken")
    await access.ensure_still_in_scope(session, warehouse, principal)
    return warehouse


#: Whether rows of another module keep a warehouse (an EXISTS over its id), registered by that
#: module (purchasing: orders to it), so this module imports none of them.
WarehouseUse = Callable[[uuid.UUID], ColumnElement[bool]]
_WAREHOUSE_USES: list[WarehouseUse] = [
    lambda wid: exists().where(InventoryMovement.warehouse_id == wid),
    lambda wid: exists().where(InventoryStock.warehouse_id == wid),
]


def warehouse_used_by(fn: WarehouseUse) -> WarehouseUse:
    """Register a use of warehouses that keeps one from being deleted."""
    if fn not in _WAREHOUSE_USES:
        _WAREHOUSE_USES.append(fn)
    return fn


async def delete_warehouse(
    session: AsyncSession, *, principal: Principal, warehouse_id: uuid.UUID
) -> None:
    """Delete a warehouse that never held stock (409 otherwise: deactivate it)."""
    warehouse = await access.get_for_write(
        session, Warehouse, warehouse_id, principal, for_update=True
    )
    uses = or_(*(fn(warehouse.id) for fn in _WAREHOUSE_USES))
    if (await session.execute(select(uses))).scalar():
        raise Conflict(
            gettext("This warehouse has held stock; deactivate it with is_active=false instead."),
            code="warehouse_in_use",
        )
    await session.delete(warehouse)
    await flush_or_conflict(
        session, gettext("This warehouse has held stock."), code="warehouse_in_use"
    )


def storerooms_of(locale_id: uuid.UUID) -> ColumnElement[bool]:
    """Whether a locale has a storeroom (it is then not deleted: registered with tenancy)."""
    return exists().where(Warehouse.locale_id == locale_id)
