"""What inventory plugs into core: the rule of the product catalogue."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from kerops.core import access
from kerops.core.access import Action
from kerops.core.principal import Principal
from kerops.inventory.models import Product


@access.rule(Product)
def _products(p: Principal, action: Action) -> ColumnElement[bool]:
    own = Product.client_id == p.client_id if p.client_id is not None else false()
    if action == "write":
        return own if p.is_client_admin else false()
    return or_(Product.client_id.is_(None), own)
