"""Imports every model module so the metadata is complete (Alembic, tests, the app)."""

from kerops.assets import models as asset_models
from kerops.audit import models as audit_models
from kerops.auth import models as auth_models
from kerops.core import job_outbox as job_outbox_models
from kerops.core.models import Base
from kerops.events import models as event_models
from kerops.idempotency import models as idempotency_models
from kerops.inventory import models as inventory_models
from kerops.iot import models as iot_models
from kerops.notifications import models as notification_models
from kerops.operations import models as operations_models
from kerops.system import models as system_models
from kerops.tenancy import models as tenancy_models
from kerops.users import models as user_models
from kerops.workforce import models as workforce_models

__all__ = [
    "Base",
    "asset_models",
    "audit_models",
    "auth_models",
    "event_models",
    "idempotency_models",
    "inventory_models",
    "iot_models",
    "job_outbox_models",
    "notification_models",
    "operations_models",
    "system_models",
    "tenancy_models",
    "user_models",
    "workforce_models",
]
