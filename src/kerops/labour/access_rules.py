"""What labour plugs into core: a ticket's work logs follow the ticket (its readers read them,
whoever changes it changes them; the service narrows a technician to their own), a technician
also reads every log of their own time and a vendor admin those of their vendor's people; a
client's labour rates are read by its managers and changed by those who manage every locale."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true

from kerops.core import access
from kerops.core.access import Action
from kerops.core.enums import UserRole
from kerops.core.principal import Principal
from kerops.labour.models import LabourRate, TicketWorkLog
from kerops.operations.models import ServiceTicket
from kerops.users.models import User

access.follows(TicketWorkLog, TicketWorkLog.ticket_id, ServiceTicket)


@access.reach(TicketWorkLog)
def _own_time(p: Principal) -> ColumnElement[bool]:
    """A technician reads their own logs (a ticket since handed to someone else included); a
    vendor admin those of their vendor's people."""
    if p.role is UserRole.technician:
        return TicketWorkLog.technician_id == p.user_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return TicketWorkLog.vendor_id == p.vendor_id
    return false()


@access.rule(LabourRate)
def _rates(p: Principal, action: Action) -> ColumnElement[bool]:
    """Rates are changed by the client's owner, admins and client-wide managers; read by them,
    the client's locale managers, a technician (their own) and a vendor admin (their vendor's
    rate card and people)."""
    if p.is_staff:
        return true()
    if p.client_id is not None and p.reaches_every_locale("write"):
        return LabourRate.client_id == p.client_id
    if action == "write":
        return false()
    if p.role is UserRole.technician:
        return LabourRate.technician_id == p.user_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        people = select(User.id).where(User.vendor_id == p.vendor_id).scalar_subquery()
        return or_(LabourRate.vendor_id == p.vendor_id, LabourRate.technician_id.in_(people))
    if p.client_id is not None and p.role is UserRole.client_member:
        return (LabourRate.client_id == p.client_id) & access.manages_a_locale(p)
    return false()
