"""What operations plugs into core: the rules of tickets and their details (which follow their
ticket), of the client's workflows (their steps follow them) and SLA policies; and what
technicians and vendor admins read through the work assigned to them (the premises, areas and
assets of their tickets). And a new client's default workflow (``kerops.users.clients``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true

from kerops.assets.models import Asset
from kerops.core import access
from kerops.core.access import Action, Rule
from kerops.core.enums import LocalRole, UserRole
from kerops.core.models import Base
from kerops.core.principal import Principal
from kerops.customfields import service as customfields
from kerops.customfields.models import FieldEntity
from kerops.operations.models import (
    ScanFollowLink,
    ServiceTicket,
    SlaPolicy,
    TicketAttachment,
    TicketComment,
    TicketHistory,
    TicketTask,
    Workflow,
    WorkflowStep,
)
from kerops.operations.workflows import ensure_default_workflow
from kerops.tenancy.models import LocalArea, Locale
from kerops.users import clients


def _register(rules: Mapping[type[Base], Rule]) -> None:
    for model, fn in rules.items():
        access.rule(model)(fn)


def assigned_ticket_ids(p: Principal) -> Any:
    """Subquery of the tickets a technician or vendor admin reaches through assigned work."""
    if p.role is UserRole.technician:
        return select(ServiceTicket.id).where(ServiceTicket.technician_id == p.user_id)
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return select(ServiceTicket.id).where(ServiceTicket.vendor_id == p.vendor_id)
    return None


def _through_assigned_work(
    p: Principal, column: Any, ticket_column: Any, *, join: tuple[Any, Any] | None = None
) -> Any:
    """Rows a technician/vendor admin reads because an assigned ticket points at them
    (``ticket_column`` of the ticket, or of a table joined to it with ``join``)."""
    tickets = assigned_ticket_ids(p)
    if tickets is None:
        return false()
    pointed = select(ticket_column).select_from(ServiceTicket)
    if join is not None:
        pointed = pointed.join(*join)
    pointed = pointed.where(ServiceTicket.id.in_(tickets.scalar_subquery()))
    return column.in_(pointed.scalar_subquery())


def ticket_predicate(p: Principal, action: Action) -> Any:
    """Which tickets the principal may read or change."""
    if p.is_staff:
        return true()
    assigned = assigned_ticket_ids(p)
    if assigned is not None:
        return ServiceTicket.id.in_(assigned.scalar_subquery())
    if p.client_id is None:
        return false()
    same_client = ServiceTicket.client_id == p.client_id
    if p.reaches_every_locale(action):
        return same_client
    if p.role is not UserRole.client_member:
        return false()
    if action == "write":
        return same_client & ServiceTicket.locale_id.in_(
            access.member_locale_ids(p, (LocalRole.manager,))
        )
    readers = (LocalRole.manager, LocalRole.viewer)
    own_requests = (ServiceTicket.requester_id == p.user_id) & ServiceTicket.locale_id.in_(
        access.member_locale_ids(p, (LocalRole.requester,))
    )
    return same_client & or_(
        ServiceTicket.locale_id.in_(access.member_locale_ids(p, readers)), own_requests
    )


@access.rule(ServiceTicket)
def _tickets(p: Principal, action: Action) -> ColumnElement[bool]:
    return ticket_predicate(p, action)  # type: ignore[no-any-return]


# Details of a ticket follow the ticket; anyone who may read it may add to it (what else a
# change of them needs, such as managing the checklist, the services check on the ticket).
for _model in (TicketTask, TicketComment, TicketAttachment, TicketHistory):
    access.follows(_model, _model.ticket_id, ServiceTicket, write="read")
# A reporter's follow-up link is the ticket's too (the public page reads it by its token alone;
# a signed-in caller sees and changes it as they see and change the ticket).
access.follows(ScanFollowLink, ScanFollowLink.ticket_id, ServiceTicket)

# A workflow's steps follow their workflow (the client's people read it, its owner changes it).
_register({model: access.client_rule(model) for model in (Workflow, SlaPolicy)})
access.follows(WorkflowStep, WorkflowStep.workflow_id, Workflow)


# Technicians and vendor admins read the premises they are sent to ...
@access.reach(Locale)
def _locales_of_assigned_work(p: Principal) -> ColumnElement[bool]:
    return _through_assigned_work(p, Locale.id, ServiceTicket.locale_id)  # type: ignore[no-any-return]


# ... and the areas of their tickets: the ticket's own, and its asset's ...
@access.reach(LocalArea)
def _areas_of_assigned_work(p: Principal) -> ColumnElement[bool]:
    return _through_assigned_work(p, LocalArea.id, ServiceTicket.area_id)  # type: ignore[no-any-return]


@access.reach(LocalArea)
def _areas_of_assigned_assets(p: Principal) -> ColumnElement[bool]:
    return _through_assigned_work(  # type: ignore[no-any-return]
        p, LocalArea.id, Asset.area_id, join=(Asset, Asset.id == ServiceTicket.asset_id)
    )


# ... and the assets of their tickets.
@access.reach(Asset)
def _assets_of_assigned_work(p: Principal) -> ColumnElement[bool]:
    return _through_assigned_work(p, Asset.id, ServiceTicket.asset_id)  # type: ignore[no-any-return]


clients.on_new_client(ensure_default_workflow)
customfields.carried_by(FieldEntity.ticket, ServiceTicket)
