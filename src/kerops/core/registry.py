"""Imports every model module so the metadata is complete (Alembic, tests, the app)."""

from kerops.audit import models as audit_models
from kerops.auth import models as auth_models
from kerops.core.models import Base
from kerops.system import models as system_models
from kerops.tenancy import models as tenancy_models
from kerops.users import models as user_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "system_models",
    "tenancy_models",
    "user_models",
]
