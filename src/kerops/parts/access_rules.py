"""What parts on tickets plug into core: a ticket's reservations follow the ticket."""

from __future__ import annotations

from kerops.core import access
from kerops.operations.models import ServiceTicket
from kerops.parts.models import StockReservation

access.follows(StockReservation, StockReservation.ticket_id, ServiceTicket)
