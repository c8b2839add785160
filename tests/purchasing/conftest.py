"""A client with what purchasing needs: its owner, a client admin and a client-wide manager, a
central warehouse, stocked products (by the piece, by the kilogram) and a vendor with a contact
e-mail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from kerops.core.enums import ClientRole, ProductCategory, UserRole
from kerops.inventory.models import InventoryStock, Product
from kerops.users.models import Vendor
from tests.fixtures.assets import _insert
from tests.fixtures.factories import Account, Runner, make_user, register_owner
from tests.fixtures.inventory import make_warehouse

API = "/api/v1"
VENDOR_EMAIL = "ventas@repuestos.example"


@dataclass
class Shop:
    client: TestClient
    run: Runner
    owner: Account
    admin: Account
    manager: Account
    warehouse: uuid.UUID
    filter: uuid.UUID  # a piece, cost 1000
    grease: uuid.UUID  # by the kilogram, cost 999
    vendor: uuid.UUID

    @property
    def client_id(self) -> uuid.UUID:
        assert self.owner.client_id is not None
        return self.owner.client_id

    def post(self, path: str, who: Account | None = None, **body: Any) -> Response:
        return self.client.post(
            f"{API}{path}", json=body or None, headers=(who or self.owner).headers
        )

    def new_order(self, who: Account | None = None, **fields: Any) -> Response:
        body: dict[str, Any] = {
            "vendor_id": str(self.vendor),
            "warehouse_id": str(self.warehouse),
            "lines": [{"product_id": str(self.filter), "quantity": 10, "unit_price_minor": 1000}],
        }
        body.update(fields)
        return self.client.post(
            f"{API}/purchase-orders", json=body, headers=(who or self.owner).headers
        )

    def ordered(self, **fields: Any) -> dict[str, Any]:
        """An order drafted by the admin, approved by the owner and placed."""
        made = self.new_order(self.admin, **fields)
        assert made.status_code == 201, made.text
        order_id = made.json()["id"]
        assert self.post(f"/purchase-orders/{order_id}/submit", self.admin).status_code == 200
        assert self.post(f"/purchase-orders/{order_id}/approve").status_code == 200
        placed = self.post(f"/purchase-orders/{order_id}/order")
        assert placed.status_code == 200, placed.text
        return self.detail(order_id)

    def detail(self, order_id: str) -> dict[str, Any]:
        found = self.client.get(f"{API}/purchase-orders/{order_id}", headers=self.owner.headers)
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body

    def stock(self, product: uuid.UUID) -> InventoryStock | None:
        async def read(session: Any) -> InventoryStock | None:
            found = await session.execute(
                select(InventoryStock).where(
                    InventoryStock.warehouse_id == self.warehouse,
                    InventoryStock.product_id == product,
                )
            )
            row: InventoryStock | None = found.scalar_one_or_none()
            return row

        result: InventoryStock | None = self.run(read)
        return result


def make_stocked_product(
    run: Runner,
    client_id: uuid.UUID,
    sku: str,
    *,
    unit: str = "unit",
    cost: int = 1000,
    vendor: uuid.UUID | None = None,
    **fields: Any,
) -> uuid.UUID:
    return _insert(
        run,
        Product,
        client_id=client_id,
        sku=sku,
        name=f"Producto {sku}",
        category=ProductCategory.spare_part,
        unit=unit,
        cost_minor=cost,
        preferred_vendor_id=vendor,
        **fields,
    )


def make_contact_vendor(
    run: Runner, client_id: uuid.UUID | None, email: str | None, rut: str = "76086428-5"
) -> uuid.UUID:
    return _insert(
        run,
        Vendor,
        client_id=client_id,
        name="Repuestos del Sur Ltda.",
        rut=rut,
        contact_email=email,
    )


@pytest.fixture
def shop(client: TestClient, run: Runner) -> Shop:
    owner = register_owner(client)
    assert owner.client_id is not None
    admin = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=owner.client_id,
        client_role=ClientRole.admin,
    )
    manager = make_user(
        client,
        run,
        role=UserRole.client_member,
        client_id=owner.client_id,
        client_role=ClientRole.manager,
    )
    warehouse = make_warehouse(run, owner.client_id, code="CENTRAL")
    vendor = make_contact_vendor(run, owner.client_id, VENDOR_EMAIL)
    return Shop(
        client=client,
        run=run,
        owner=owner,
        admin=admin,
        manager=manager,
        warehouse=warehouse,
        filter=make_stocked_product(run, owner.client_id, "FIL-1"),
        grease=make_stocked_product(run, owner.client_id, "GRA-1", unit="kg", cost=999),
        vendor=vendor,
    )


def q(value: Any) -> Decimal:
    """A quantity as the API answers it."""
    return Decimal(str(value))
