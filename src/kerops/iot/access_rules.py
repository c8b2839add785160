"""What iot plugs into core: the rules of devices and their rules, and the device count of the
plans; and that devices move with their asset to another locale (``kerops.assets.service``)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from kerops.assets import service as asset_service
from kerops.core import access, limits
from kerops.core.access import Action
from kerops.core.principal import Principal
from kerops.iot.models import IoTDevice, IoTRule

access.rule(IoTDevice)(access.locale_rule(IoTDevice))


# IoT rules follow their device (devices move between locales of their client). [iot rules]
@access.rule(IoTRule)
def _iot_rules(p: Principal, action: Action) -> ColumnElement[bool]:
    devices = select(IoTDevice.id).where(
        access.locale_predicate(IoTDevice.locale_id, IoTDevice.client_id, p, action)
    )
    return IoTRule.device_id.in_(devices.scalar_subquery())


limits.count_rows(IoTDevice, "iot_devices")

asset_service.follows_asset_locale(IoTDevice)
