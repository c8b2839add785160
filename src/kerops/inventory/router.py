"""The product catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.enums import ProductCategory
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.inventory import service
from kerops.inventory.models import Product
from kerops.inventory.schemas import ProductCreate, ProductRead, ProductUpdate

router = APIRouter(tags=["inventory"])

ProductPage = Annotated[PageParams, sorted_by(service.PRODUCT_SORTS)]
PRODUCT_DOCUMENT = Document(Product, ProductRead)

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]


@router.post("/products", response_model=ProductRead, status_code=status.HTTP_201_CREATED)
async def create_product(
    body: ProductCreate, principal: PrincipalDep, session: SessionDep
) -> Product:
    """Add a product (a client's owner to its own catalogue; staff to KER's or a client's)."""
    return await service.create_product(session, principal=principal, data=body)


@router.get("/products", response_model=Page[ProductRead])
async def list_products(
    reader: ReaderDep,
    page: ProductPage,
    category: ProductCategory | None = None,
    is_active: bool | None = None,
    q: TextFilter = None,
) -> Response:
    """KER's catalogue and the caller's own products (sort: name, sku, created_at)."""
    items, cursor = await service.list_products(
        reader, params=page, category=category, is_active=is_active, q=q
    )
    return await reader.respond_page(PRODUCT_DOCUMENT, items, cursor)


@router.get("/products/{product_id}", response_model=ProductRead)
async def get_product(product_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One product."""
    return await reader.respond(PRODUCT_DOCUMENT, product_id)


@router.patch("/products/{product_id}", response_model=ProductRead)
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, principal: PrincipalDep, session: SessionDep
) -> Product:
    """Change a product of one's own catalogue."""
    return await service.update_product(
        session, principal=principal, product_id=product_id, data=body
    )


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_product(
    product_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a product no asset lists as a part (409 otherwise)."""
    await service.delete_product(session, principal=principal, product_id=product_id)
