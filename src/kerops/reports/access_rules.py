"""What reports plug into core: a client's report schedules (who gets what, when) are read and
changed by its admins and client-wide managers; their deliveries follow them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from kerops.core import access
from kerops.core.principal import Principal
from kerops.reports.models import ReportDelivery, ReportSchedule


@access.rule(ReportSchedule)
def _schedules(p: Principal, action: access.Action) -> ColumnElement[bool]:
    if p.client_id is None or not p.reaches_every_locale("write"):
        return false()
    return ReportSchedule.client_id == p.client_id


access.follows(ReportDelivery, ReportDelivery.schedule_id, ReportSchedule)
