"""What audit plugs into core: the rule of the change log."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from kerops.audit.models import AuditLog
from kerops.core import access, audit
from kerops.core.access import Action
from kerops.core.principal import Principal


@access.rule(AuditLog)
def _audit_logs(p: Principal, action: Action) -> ColumnElement[bool]:
    # Read only (the log is append-only); a client owner reads the rows of their own client.
    if action == "read" and p.is_client_admin and p.client_id is not None:
        return AuditLog.client_id == p.client_id
    return false()


audit.log_to(AuditLog)
