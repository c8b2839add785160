"""What assets plugs into core: the rules of assets and what hangs off them, and the asset
count of the plans (technicians also read the assets of their tickets: operations adds that);
and that parts lists use products (``kerops.inventory.service``)."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists

from kerops.assets.models import Asset, AssetBOM, AssetMaintenancePlan, AssetStatusChange
from kerops.core import access, limits
from kerops.inventory import service as inventory_service

access.rule(Asset)(access.locale_rule(Asset))
for _model in (AssetBOM, AssetMaintenancePlan, AssetStatusChange):
    access.rule(_model)(access.locale_rule(_model))

limits.count_rows(Asset, "assets")


@inventory_service.product_used_by
def _in_a_parts_list(product_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(AssetBOM.product_id == product_id)
