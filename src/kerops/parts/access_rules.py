"""What parts on tickets plug into core: a ticket's reservations follow the ticket; the
movements of a ticket's parts are read by whoever reads the ticket; a technician reads the
storerooms of the locales of the tickets assigned to them (and issues from them onto those
tickets), and a vendor's technician the catalogue of those tickets' clients; and a ticket's
holds are released or issued as the ticket is cancelled or completed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select

from kerops.core import access
from kerops.core.enums import MovementDocument, UserRole, WarehouseKind
from kerops.core.principal import Principal
from kerops.inventory.models import InventoryMovement, Product, Warehouse
from kerops.operations import transitions
from kerops.operations.models import ServiceTicket
from kerops.parts import reservations
from kerops.parts.models import StockReservation

access.follows(StockReservation, StockReservation.ticket_id, ServiceTicket)


@access.reach(Warehouse)
def _storerooms_of_assigned_tickets(p: Principal) -> ColumnElement[bool]:
    """A technician (a client's or a vendor's) reads the storerooms of their tickets' locales."""
    if p.role is not UserRole.technician:
        return false()
    # A locale is one client's: its storeroom is of the ticket's client, whoever employs them.
    locales = select(ServiceTicket.locale_id).where(ServiceTicket.technician_id == p.user_id)
    return (Warehouse.kind == WarehouseKind.locale) & Warehouse.locale_id.in_(
        locales.scalar_subquery()
    )


@access.reach(Product)
def _catalogues_of_assigned_tickets(p: Principal) -> ColumnElement[bool]:
    """A vendor's technician reads the catalogue of the clients whose tickets they work (the
    parts they issue onto them)."""
    if p.role is not UserRole.technician or p.client_id is not None:
        return false()
    clients = select(ServiceTicket.client_id).where(ServiceTicket.technician_id == p.user_id)
    return Product.client_id.in_(clients.scalar_subquery())


@access.reach(InventoryMovement)
def _movements_of_readable_tickets(p: Principal) -> ColumnElement[bool]:
    """The movements of a ticket's parts are read by whoever reads the ticket."""
    tickets = access.predicate(ServiceTicket, p, "read")
    if tickets is false():
        return false()
    readable = select(ServiceTicket.id).where(tickets).scalar_subquery()
    return (InventoryMovement.document_kind == MovementDocument.ticket) & (
        InventoryMovement.document_id.in_(readable)
    )


transitions.on_ticket_moved(reservations.on_ticket_moved)
