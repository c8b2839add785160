"""Rules of assets: the tree per locale, status history and downtime, parts lists."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import Asset, AssetBOM, AssetMaintenancePlan, AssetStatusChange
from kerops.assets.schemas import (
    AssetCreate,
    AssetUpdate,
    BomLineCreate,
    BomLineRead,
    BomLineUpdate,
    DowntimeRead,
)
from kerops.core import access, trees
from kerops.core.db import flush_or_conflict
from kerops.core.enums import AssetStatus
from kerops.core.errors import Conflict, NotFound, Unprocessable, field_error
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.limits import enforce_plan_limit
from kerops.core.pagination import PageParams, paginate
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.core.types import utcnow
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.inventory.models import Product
from kerops.tenancy.models import LocalArea, Locale

#: The deepest an asset may sit in its tree (a top-level asset is at depth 1).
MAX_ASSET_DEPTH = 12

ASSET_SORTS = {
    "name": Asset.name,
    "created_at": Asset.created_at,
    "criticality": Asset.criticality,
}
HISTORY_SORTS = {"changed_at": AssetStatusChange.changed_at}
BOM_SORTS = {"created_at": AssetBOM.created_at, "quantity": AssetBOM.quantity}
DUPLICATE_PART = N_(
    "This product is already in the asset's parts list; change its quantity instead."
)


# --- the tree ------------------------------------------------------------------------------------


async def ancestor_ids(session: AsyncSession, asset_id: uuid.UUID) -> list[uuid.UUID]:
    """The asset and its ancestors, nearest first (the walk stops past ``MAX_ASSET_DEPTH``)."""
    return await trees.ancestor_ids(session, Asset, asset_id, max_depth=MAX_ASSET_DEPTH)


async def subtree_height(session: AsyncSession, asset_id: uuid.UUID) -> int:
    """How many levels hang below the asset (0 for a leaf; the walk stops past the cap)."""
    return await trees.subtree_height(session, Asset, asset_id, max_depth=MAX_ASSET_DEPTH)


def _invalid(field: str, msg: str, type_: str) -> Unprocessable:
    return Unprocessable(msg, errors=[field_error(("body", field), msg, type_)])


async def _check_area(
    session: AsyncSession, principal: Principal, locale_id: uuid.UUID, area_id: uuid.UUID
) -> None:
    area = await access.get_scoped(session, LocalArea, area_id, principal)
    if area.locale_id != locale_id:
        raise _invalid("area_id", "The area must be an area of the asset's locale.", "area_locale")


async def _check_parent(
    session: AsyncSession,
    principal: Principal,
    locale_id: uuid.UUID,
    parent_id: uuid.UUID,
    asset: Asset | None = None,
) -> None:
    if asset is not None and parent_id == asset.id:
        raise _invalid("parent_id", "An asset cannot be its own parent.", "asset_cycle")
    parent = await access.get_scoped(session, Asset, parent_id, principal)
    if parent.locale_id != locale_id:
        raise _invalid(
            "parent_id", "The parent must be an asset of the same locale.", "parent_locale"
        )
    ancestors = await ancestor_ids(session, parent.id)
    if asset is not None and asset.id in ancestors:
        raise _invalid(
            "parent_id", "An asset cannot move under one of its own parts.", "asset_cycle"
        )
    height = await subtree_height(session, asset.id) if asset is not None else 0
    if len(ancestors) + 1 + height > MAX_ASSET_DEPTH:
        raise _invalid(
            "parent_id", f"Assets nest at most {MAX_ASSET_DEPTH} levels deep.", "asset_too_deep"
        )


def _status_change(
    asset: Asset, principal: Principal, from_status: AssetStatus | None, reason: str
) -> AssetStatusChange:
    return AssetStatusChange(
        client_id=asset.client_id,
        locale_id=asset.locale_id,
        asset_id=asset.id,
        from_status=from_status,
        to_status=asset.status,
        changed_at=utcnow(),
        changed_by_id=principal.user_id,
        reason=reason,
    )


# --- assets --------------------------------------------------------------------------------------


async def create_asset(session: AsyncSession, *, principal: Principal, data: AssetCreate) -> Asset:
    """Create an asset in a locale the caller manages, within the client's plan."""
    locale = await access.get_for_write(session, Locale, data.locale_id, principal)
    if data.area_id is not None:
        await _check_area(session, principal, locale.id, data.area_id)
    if data.parent_id is not None:
        await _check_parent(session, principal, locale.id, data.parent_id)
    await enforce_plan_limit(session, client_id=locale.client_id, resource="assets")
    values = await customfields.values_for_write(
        session,
        client_id=locale.client_id,
        entity=FieldEntity.asset,
        given=data.custom_fields,
        creating=True,
    )
    asset = Asset(
        client_id=locale.client_id,
        qr_code=secrets.token_urlsafe(24),
        **data.model_dump(exclude={"custom_fields"}),
        custom_fields=values,
    )
    session.add(asset)
    await session.flush()
    session.add(_status_change(asset, principal, None, "created"))
    await flush_or_conflict(session, gettext("Could not allocate a QR code; try again."))
    return asset


async def list_assets(
    reader: Reader,
    *,
    params: PageParams,
    locale_id: uuid.UUID | None = None,
    area_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    status: AssetStatus | None = None,
    category: str | None = None,
    q: str | None = None,
    updated_since: datetime | None = None,
    fields: Sequence[str] | None = None,
) -> tuple[Sequence[dict[str, Any]], str | None]:
    """One page of the assets the caller can see (one query): their columns by name
    (``AssetRead``'s fields), read through the reader: no session, no ORM objects."""
    stmt = reader.rows(Asset)
    stmt = await customfields.filter_rows(reader, stmt, entity=FieldEntity.asset, filters=fields)
    if locale_id is not None:
        stmt = stmt.where(Asset.locale_id == locale_id)
    if area_id is not None:
        stmt = stmt.where(Asset.area_id == area_id)
    if parent_id is not None:
        stmt = stmt.where(Asset.parent_id == parent_id)
    if status is not None:
        stmt = stmt.where(Asset.status == status)
    if category is not None:
        stmt = stmt.where(func.lower(Asset.category) == category.lower())
    if q:
        stmt = stmt.where(text_search(q, Asset.name, Asset.serial_number, Asset.make, Asset.model))
    if updated_since is not None:
        stmt = stmt.where(Asset.updated_at >= updated_since)
    return await reader.page(
        stmt, params, sort_fields=ASSET_SORTS, id_column=Asset.id, default_sort="name"
    )


async def get_asset(session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID) -> Asset:
    """One asset the caller can see."""
    return await access.get_scoped(session, Asset, asset_id, principal)


#: Models whose rows carry their asset's locale (``asset_id``, ``locale_id``); other modules
#: add theirs (iot: devices), so this module imports none of them.
_LOCALE_FOLLOWERS: list[Any] = [AssetBOM, AssetMaintenancePlan, AssetStatusChange]


def follows_asset_locale(model: Any) -> None:
    """Register a model whose rows move with their asset to another locale."""
    if model not in _LOCALE_FOLLOWERS:
        _LOCALE_FOLLOWERS.append(model)


async def _move_dependents(session: AsyncSession, asset: Asset, locale_id: uuid.UUID) -> None:
    """Rows that carry the asset's locale follow it to its new one."""
    for model in _LOCALE_FOLLOWERS:
        rows = (await session.execute(select(model).where(model.asset_id == asset.id))).scalars()
        for row in rows:
            row.locale_id = locale_id


async def update_asset(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, data: AssetUpdate
) -> Asset:
    """Change, move (area and parent reset unless given) or re-parent an asset; log status."""
    asset = await access.get_for_write(session, Asset, asset_id, principal, for_update=True)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    reason: str = changes.pop("status_reason", None) or ""
    locale_id: uuid.UUID = changes.get("locale_id", asset.locale_id)
    moving = locale_id != asset.locale_id
    if moving:
        await access.get_for_write(session, Locale, locale_id, principal)
        has_parts = exists().where(Asset.parent_id == asset.id)
        if (await session.execute(select(has_parts))).scalar():
            raise Conflict(
                gettext("This asset has parts (child assets); move or detach them first."),
                code="asset_has_children",
            )
        changes.setdefault("area_id", None)
        changes.setdefault("parent_id", None)
    if changes.get("area_id") is not None:
        await _check_area(session, principal, locale_id, changes["area_id"])
    new_parent = changes.get("parent_id")
    if new_parent is not None and (moving or new_parent != asset.parent_id):
        await _check_parent(session, principal, locale_id, new_parent, asset)
    install = changes.get("install_date", asset.install_date)
    warranty_end = changes.get("warranty_end_date", asset.warranty_end_date)
    if install is not None and warranty_end is not None and warranty_end < install:
        raise _invalid(
            "warranty_end_date",
            "warranty_end_date must not be before install_date",
            "warranty_before_install",
        )
    if "custom_fields" in changes:
        changes["custom_fields"] = await customfields.values_for_write(
            session,
            client_id=asset.client_id,
            entity=FieldEntity.asset,
            given=data.custom_fields,
            current=asset.custom_fields,
            creating=False,
        )
    previous = asset.status
    for key, value in changes.items():
        setattr(asset, key, value)
    if moving:
        await _move_dependents(session, asset, locale_id)
    if asset.status is not previous:
        session.add(_status_change(asset, principal, previous, reason))
    await session.flush()
    await access.ensure_still_in_scope(session, asset, principal)
    return asset


async def delete_asset(session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID) -> None:
    """Delete an asset with its parts list, devices and history; its children become top-level."""
    asset = await access.get_for_write(session, Asset, asset_id, principal, for_update=True)
    await session.delete(asset)
    await session.flush()


# --- status history and downtime -----------------------------------------------------------------


async def list_status_history(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, params: PageParams
) -> tuple[Sequence[AssetStatusChange], str | None]:
    """One page of an asset's status changes (anyone who may read the asset: they follow it)."""
    asset = await access.get_scoped(session, Asset, asset_id, principal)
    stmt = access.scoped(select(AssetStatusChange), AssetStatusChange, principal).where(
        AssetStatusChange.asset_id == asset.id
    )
    return await paginate(
        session,
        stmt,
        params,
        sort_fields=HISTORY_SORTS,
        id_column=AssetStatusChange.id,
        default_sort="changed_at",
    )


async def downtime(
    session: AsyncSession,
    *,
    principal: Principal,
    asset_id: uuid.UUID,
    start: datetime,
    end: datetime,
) -> DowntimeRead:
    """Seconds the asset spent ``down`` between ``start`` and ``end`` (at most until now)."""
    if start >= end:
        raise Unprocessable(
            gettext("'from' must be before 'to'."),
            errors=[
                field_error(("query", "from"), gettext("must be before 'to'"), "window_invalid")
            ],
        )
    asset = await access.get_scoped(session, Asset, asset_id, principal)
    stop = min(end, utcnow())
    total = 0.0
    if stop > start:
        history = AssetStatusChange
        follows = access.predicate(history, principal)
        before = (
            select(history.to_status)
            .where(history.asset_id == asset.id, history.changed_at <= start, follows)
            .order_by(history.changed_at.desc(), history.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        status: AssetStatus | None = (await session.execute(select(before))).scalar()
        within = await session.execute(
            select(history.changed_at, history.to_status)
            .where(
                history.asset_id == asset.id,
                history.changed_at > start,
                history.changed_at < stop,
                follows,
            )
            .order_by(history.changed_at, history.id)
        )
        cursor = start
        for changed_at, to_status in within.all():
            if status is AssetStatus.down:
                total += (changed_at - cursor).total_seconds()
            cursor, status = changed_at, to_status
        if status is AssetStatus.down:
            total += (stop - cursor).total_seconds()
    return DowntimeRead(asset_id=asset.id, from_=start, to=end, down_seconds=total)


# --- parts list ----------------------------------------------------------------------------------


def bom_read(line: AssetBOM, sku: str, name: str) -> BomLineRead:
    """A parts-list line with its product's SKU and name."""
    return BomLineRead(
        id=line.id,
        asset_id=line.asset_id,
        product_id=line.product_id,
        product_sku=sku,
        product_name=name,
        quantity=line.quantity,
        notes=line.notes,
        created_at=line.created_at,
        updated_at=line.updated_at,
    )


async def list_bom(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, params: PageParams
) -> tuple[list[BomLineRead], str | None]:
    """One page of an asset's parts list with product SKUs and names (one query)."""
    asset = await access.get_scoped(session, Asset, asset_id, principal)
    stmt: Any = (
        select(AssetBOM, Product.sku, Product.name)
        .join(Product, Product.id == AssetBOM.product_id)
        .where(AssetBOM.asset_id == asset.id, access.predicate(AssetBOM, principal))
    )
    rows, cursor = await paginate(
        session,
        stmt,
        params,
        sort_fields=BOM_SORTS,
        id_column=AssetBOM.id,
        default_sort="created_at",
        scalars=False,
    )
    return [bom_read(line, sku, name) for line, sku, name in rows], cursor


async def add_bom_line(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, data: BomLineCreate
) -> BomLineRead:
    """Add a product (KER's or the asset's client's) to an asset's parts list."""
    asset = await access.get_for_write(session, Asset, asset_id, principal, for_update=True)
    product = await access.get_scoped(session, Product, data.product_id, principal)
    if product.client_id is not None and product.client_id != asset.client_id:
        raise NotFound(gettext("product not found"))
    taken = exists().where(AssetBOM.asset_id == asset.id, AssetBOM.product_id == product.id)
    if (await session.execute(select(taken))).scalar():
        raise Conflict(gettext(DUPLICATE_PART), code="duplicate_part")
    line = AssetBOM(
        client_id=asset.client_id,
        locale_id=asset.locale_id,
        asset_id=asset.id,
        product_id=product.id,
        quantity=data.quantity,
        notes=data.notes,
    )
    session.add(line)
    await flush_or_conflict(session, gettext(DUPLICATE_PART), code="duplicate_part")
    return bom_read(line, product.sku, product.name)


async def _line_for_write(
    session: AsyncSession, principal: Principal, asset_id: uuid.UUID, line_id: uuid.UUID
) -> tuple[AssetBOM, Product]:
    asset = await access.get_for_write(session, Asset, asset_id, principal, for_update=True)
    row = (
        await session.execute(
            select(AssetBOM, Product)
            .join(Product, Product.id == AssetBOM.product_id)
            .where(
                AssetBOM.id == line_id,
                AssetBOM.asset_id == asset.id,
                access.predicate(AssetBOM, principal, "write"),
            )
        )
    ).first()
    if row is None:
        raise NotFound(gettext("parts list line not found"))
    return row[0], row[1]


async def update_bom_line(
    session: AsyncSession,
    *,
    principal: Principal,
    asset_id: uuid.UUID,
    line_id: uuid.UUID,
    data: BomLineUpdate,
) -> BomLineRead:
    """Change the quantity or notes of a parts-list line."""
    line, product = await _line_for_write(session, principal, asset_id, line_id)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(line, key, value)
    await session.flush()
    return bom_read(line, product.sku, product.name)


async def delete_bom_line(
    session: AsyncSession, *, principal: Principal, asset_id: uuid.UUID, line_id: uuid.UUID
) -> None:
    """Remove a line from an asset's parts list."""
    line, _product = await _line_for_write(session, principal, asset_id, line_id)
    await session.delete(line)
    await session.flush()
