"""Rules of the product catalogue: KER's platform items and each client's own."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.enums import ProductCategory
from kerops.core.errors import Conflict, Forbidden, NotFound
from kerops.core.filtering import text_search
from kerops.core.i18n import N_, gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.inventory import checks
from kerops.inventory.models import InventoryMovement, InventoryStock, Product
from kerops.inventory.schemas import ProductCreate, ProductUpdate
from kerops.users.models import Client, Vendor

PRODUCT_SORTS = {"name": Product.name, "sku": Product.sku, "created_at": Product.created_at}
SKU_TAKEN = N_("This catalogue already has a product with that SKU.")
BARCODE_TAKEN = N_("This catalogue already has a product with that barcode.")


async def _owner_for_new_product(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID | None
) -> uuid.UUID | None:
    if principal.is_staff:
        if client_id is None:
            return None
        if await session.get(Client, client_id) is None:
            raise NotFound(gettext("client not found"))
        return client_id
    if not principal.is_client_admin or principal.client_id is None:
        raise Forbidden(gettext("Only the client's owner or platform staff can add products."))
    if client_id is not None and client_id != principal.client_id:
        raise NotFound(gettext("client not found"))
    return principal.client_id


async def _ensure_sku_free(
    session: AsyncSession,
    client_id: uuid.UUID | None,
    sku: str,
    *,
    exclude_id: uuid.UUID | None = None,
) -> None:
    owner = Product.client_id.is_(None) if client_id is None else Product.client_id == client_id
    stmt = select(Product.id).where(owner, Product.sku == sku)
    if exclude_id is not None:
        stmt = stmt.where(Product.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(gettext(SKU_TAKEN), code="sku_taken")


async def _ensure_barcode_free(
    session: AsyncSession,
    client_id: uuid.UUID | None,
    barcode: str,
    *,
    exclude_id: uuid.UUID | None = None,
) -> None:
    owner = Product.client_id.is_(None) if client_id is None else Product.client_id == client_id
    stmt = select(Product.id).where(owner, Product.barcode == barcode)
    if exclude_id is not None:
        stmt = stmt.where(Product.id != exclude_id)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise Conflict(gettext(BARCODE_TAKEN), code="barcode_taken")


async def _check_stores_fields(
    session: AsyncSession,
    principal: Principal,
    changes: dict[str, Any],
    client_id: uuid.UUID | None,
    exclude_id: uuid.UUID | None = None,
) -> None:
    """The unit, barcode and preferred vendor a create or update gives."""
    checks.check_unit(changes.get("unit"))
    if changes.get("barcode") is not None:
        checks.check_barcode(changes["barcode"])
        await _ensure_barcode_free(session, client_id, changes["barcode"], exclude_id=exclude_id)
    if changes.get("preferred_vendor_id") is not None:
        await access.get_scoped(session, Vendor, changes["preferred_vendor_id"], principal)


async def create_product(
    session: AsyncSession, *, principal: Principal, data: ProductCreate
) -> Product:
    """Add a product to the caller's catalogue (staff: the platform's or a named client's)."""
    client_id = await _owner_for_new_product(session, principal, data.client_id)
    await _check_stores_fields(session, principal, data.model_dump(), client_id)
    await _ensure_sku_free(session, client_id, data.sku)
    product = Product(client_id=client_id, **data.model_dump(exclude={"client_id"}))
    session.add(product)
    await flush_or_conflict(session, gettext(SKU_TAKEN), code="sku_taken")
    return product


async def list_products(
    reader: Reader,
    *,
    params: PageParams,
    category: ProductCategory | None = None,
    is_active: bool | None = None,
    q: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the products the caller can see (platform catalogue and own)."""
    stmt = reader.rows(Product)
    if category is not None:
        stmt = stmt.where(Product.category == category)
    if is_active is not None:
        stmt = stmt.where(Product.is_active.is_(is_active))
    if q:
        stmt = stmt.where(text_search(q, Product.sku, Product.name))
    return await reader.page(
        stmt, params, sort_fields=PRODUCT_SORTS, id_column=Product.id, default_sort="name"
    )


async def update_product(
    session: AsyncSession, *, principal: Principal, product_id: uuid.UUID, data: ProductUpdate
) -> Product:
    """Change a product of the caller's catalogue."""
    product = await access.get_for_write(session, Product, product_id, principal)
    changes = data.model_dump(exclude_unset=True)
    await _check_stores_fields(session, principal, changes, product.client_id, product.id)
    if "sku" in changes and changes["sku"] != product.sku:
        await _ensure_sku_free(session, product.client_id, changes["sku"], exclude_id=product.id)
    for key, value in changes.items():
        setattr(product, key, value)
    await flush_or_conflict(session, gettext(SKU_TAKEN), code="sku_taken")
    await access.ensure_still_in_scope(session, product, principal)
    return product


#: Whether rows of another module use a product (an EXISTS over the product's id), registered
#: by that module (assets: parts lists), so this module imports none of them.
ProductUse = Callable[[uuid.UUID], ColumnElement[bool]]
_PRODUCT_USES: list[ProductUse] = []


def product_used_by(fn: ProductUse) -> ProductUse:
    """Register a use of products that keeps one from being deleted."""
    if fn not in _PRODUCT_USES:
        _PRODUCT_USES.append(fn)
    return fn


async def delete_product(
    session: AsyncSession, *, principal: Principal, product_id: uuid.UUID
) -> None:
    """Delete a product no parts list uses."""
    product = await access.get_for_write(session, Product, product_id, principal, for_update=True)
    stocked = or_(
        exists().where(InventoryMovement.product_id == product.id),
        exists().where(InventoryStock.product_id == product.id),
    )
    if (await session.execute(select(stocked))).scalar():
        raise Conflict(
            gettext(
                "This product has stock or stock movements; deactivate it with "
                "is_active=false instead."
            ),
            code="product_in_use",
        )
    uses = [fn(product.id) for fn in _PRODUCT_USES]
    if uses and (await session.execute(select(or_(*uses)))).scalar():
        raise Conflict(
            gettext(
                "Assets list this product as a part; remove it from their parts lists first, "
                "or deactivate it with is_active=false."
            ),
            code="product_in_use",
        )
    await session.delete(product)
    await flush_or_conflict(
        session, gettext("Assets list this product as a part."), code="product_in_use"
    )
