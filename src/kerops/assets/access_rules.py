"""What assets plugs into core: the rules of assets and of what hangs off them (status history,
parts lists and maintenance plans follow their asset, a plan's occurrences their plan), and the
asset count of the plans (technicians also read the assets of their tickets: operations adds
that, and so what follows those assets); and that parts lists use products
(``kerops.inventory.service``)."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, exists

from kerops.assets.models import (
    Asset,
    AssetBOM,
    AssetMaintenancePlan,
    AssetStatusChange,
    PlanOccurrence,
)
from kerops.core import access, limits
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.inventory import service as inventory_service

access.rule(Asset)(access.locale_rule(Asset))
for _model in (AssetBOM, AssetMaintenancePlan, AssetStatusChange):
    access.follows(_model, _model.asset_id, Asset)
access.follows(PlanOccurrence, PlanOccurrence.plan_id, AssetMaintenancePlan)

limits.count_rows(Asset, "assets")
customfields.carried_by(FieldEntity.asset, Asset)


@inventory_service.product_used_by
def _in_a_parts_list(product_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(AssetBOM.product_id == product_id)
