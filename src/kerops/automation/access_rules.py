"""What automation plugs into the other modules (it has no models, so no access rules): a plan's
ticket that is completed or cancelled records its plan's completion and, for a completion-anchored
plan, schedules the next occurrence (``kerops.operations.transitions.on_ticket_moved``)."""

from __future__ import annotations

from kerops.automation import completion
from kerops.operations import transitions

transitions.on_ticket_moved(completion.ticket_moved)
