"""What reports plug into core: who reads a report, and a client's report schedules.

A report holds what its requester read of a list, so only its requester reads it (and downloads
it), and the client's owner and admins, who read every row of their client anyway; platform
staff read every report. A client's report schedules (who gets what, when) are read and changed
by its admins and client-wide managers; their deliveries follow them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from kerops.core import access
from kerops.core.access import Action
from kerops.core.principal import Principal
from kerops.reports.models import Report, ReportDelivery, ReportSchedule


@access.rule(Report)
def _reports(p: Principal, action: Action) -> ColumnElement[bool]:
    if p.is_staff:
        return true()
    if p.client_id is None:
        return false()
    if p.is_client_admin:
        return Report.client_id == p.client_id
    return (Report.client_id == p.client_id) & (Report.requested_by_id == p.user_id)


@access.rule(ReportSchedule)
def _schedules(p: Principal, action: Action) -> ColumnElement[bool]:
    if p.client_id is None or not p.reaches_every_locale("write"):
        return false()
    return ReportSchedule.client_id == p.client_id


access.follows(ReportDelivery, ReportDelivery.schedule_id, ReportSchedule)
