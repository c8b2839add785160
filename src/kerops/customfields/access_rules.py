"""What custom fields plug into core: their definitions are a client's configuration, read by
its people and changed by its owner and admins."""

from __future__ import annotations

from kerops.core import access
from kerops.customfields.models import CustomFieldDefinition

access.rule(CustomFieldDefinition)(access.client_rule(CustomFieldDefinition))
