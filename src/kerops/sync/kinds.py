"""The kinds of objects an app keeps, as the sync stream names them: each a model and the
schema its own GET (or its list) shows it as."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from kerops.assets.models import Asset, AssetMaintenancePlan
from kerops.assets.plans_schemas import PlanRead
from kerops.assets.schemas import AssetRead
from kerops.core.documents import Shown
from kerops.core.models import Base
from kerops.notifications.models import Notification
from kerops.notifications.schemas import NotificationRead
from kerops.operations import diagnosis_shown
from kerops.operations.attachments_schemas import AttachmentRead
from kerops.operations.models import ServiceTicket, TicketAttachment, TicketComment, TicketTask
from kerops.operations.schemas import CommentRead, TicketRead
from kerops.operations.tasks_schemas import TaskRead
from kerops.workforce.models import TechnicianCertification, TechnicianShift
from kerops.workforce.schemas import CertificationRead, ShiftRead


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of the stream: its model, its schema, what its document hides (``shown``)."""

    name: str
    model: type[Base]
    schema: type[BaseModel]
    shown: Shown | None = None


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("ticket", ServiceTicket, TicketRead, diagnosis_shown.shown_rows),
        Kind("task", TicketTask, TaskRead),
        Kind("comment", TicketComment, CommentRead),
        Kind("attachment", TicketAttachment, AttachmentRead),
        Kind("asset", Asset, AssetRead),
        Kind("plan", AssetMaintenancePlan, PlanRead),
        Kind("shift", TechnicianShift, ShiftRead),
        Kind("certification", TechnicianCertification, CertificationRead),
        Kind("notification", Notification, NotificationRead),
    )
}
#: Each tracked model and the kind it is logged as.
TRACKED: dict[type[Base], str] = {kind.model: name for name, kind in KINDS.items()}
