"""What assets plugs into core: the rules of assets and what hangs off them, and the asset
count of the plans. (Technicians also read the assets of their tickets: operations adds that.)"""

from __future__ import annotations

from kerops.assets.models import Asset, AssetBOM, AssetMaintenancePlan, AssetStatusChange
from kerops.core import access, limits

access.rule(Asset)(access.locale_rule(Asset))
for _model in (AssetBOM, AssetMaintenancePlan, AssetStatusChange):
    access.rule(_model)(access.locale_rule(_model))

limits.count_rows(Asset, "assets")
