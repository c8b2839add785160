"""What iot plugs into core: the rules of devices and of their rules and readings (which follow
their device), and the device count of the plans; and that devices move with their asset to
another locale (``kerops.assets.service``)."""

from __future__ import annotations

from kerops.assets import service as asset_service
from kerops.core import access, limits
from kerops.iot.models import IoTDevice, IoTReading, IoTRule

access.rule(IoTDevice)(access.locale_rule(IoTDevice))

# Rules and readings follow their device (devices move between locales of their client).
access.follows(IoTRule, IoTRule.device_id, IoTDevice)
access.follows(IoTReading, IoTReading.device_id, IoTDevice)

limits.count_rows(IoTDevice, "iot_devices")

asset_service.follows_asset_locale(IoTDevice)
