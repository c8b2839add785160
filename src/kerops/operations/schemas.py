"""Schemas of workflows, their steps, service tickets, their history and comments."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)

from kerops.core.enums import TechnicianSkill, TicketPriority, TicketStatus
from kerops.core.i18n import N_
from kerops.core.schemas import (
    ApiDateTime,
    Currency,
    InputModel,
    MinorUnits,
    ReadModel,
    no_nul,
    refuse_null,
)
from kerops.customfields.schemas import CustomFieldValues

Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(no_nul)]
WorkflowName = Annotated[
    str, StringConstraints(min_length=1, max_length=120), AfterValidator(no_nul)
]
Description = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(no_nul)]
CommentText = Annotated[
    str, StringConstraints(min_length=1, max_length=5000), AfterValidator(no_nul)
]
OptionalComment = Annotated[str, StringConstraints(max_length=5000), AfterValidator(no_nul)]
Certification = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/\-]*$"),
]


def ticket_code(number: int) -> str:
    """The display code of a ticket number, e.g. ``T-000123``."""
    return f"T-{number:06d}"


class StepRole(enum.StrEnum):
    """Who may take a workflow step, as seen from the ticket."""

    owner = "owner"  # the client's owner
    manager = "manager"  # a manager of the ticket's locale
    requester = "requester"  # the person who raised the ticket
    technician = "technician"  # the technician assigned to the ticket
    vendor_admin = "vendor_admin"  # an admin of the vendor assigned to the ticket
    staff = "staff"  # platform staff


Roles = Annotated[list[StepRole], Field(min_length=1, max_length=6)]


def _unique_roles(roles: list[StepRole] | None) -> list[StepRole] | None:
    if roles is None:
        return None
    return list(dict.fromkeys(roles))


# --- workflows -----------------------------------------------------------------------------------


class WorkflowCreate(InputModel):
    """A new workflow; ``client_id`` is required for platform staff and implied for an owner."""

    client_id: uuid.UUID | None = None
    name: WorkflowName
    description: Description = ""
    is_default: bool = False
    is_active: bool = True


class WorkflowUpdate(InputModel):
    """Changes to a workflow; ``is_default: true`` makes it the client's default."""

    name: WorkflowName | None = None
    description: Description | None = None
    is_default: bool | None = None
    is_active: bool | None = None

    @field_validator("name", "description", "is_default", "is_active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class WorkflowRead(ReadModel):
    """A client's workflow."""

    id: uuid.UUID
    client_id: uuid.UUID
    name: str
    description: str
    is_default: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime


class StepCreate(InputModel):
    """One allowed move ``from_status → to_status`` of a workflow."""

    from_status: TicketStatus
    to_status: TicketStatus
    allowed_roles: Roles
    requires_comment: bool = False
    requires_photo: bool = False
    requires_all_tasks_done: bool = False
    requires_signature: bool = False
    requires_valid_licence: bool = False
    requires_parts_recorded: bool = False
    position: Annotated[int, Field(ge=0, le=10_000)] = 0

    @field_validator("allowed_roles")
    @classmethod
    def _dedupe(cls, value: list[StepRole]) -> list[StepRole] | None:
        return _unique_roles(value)

    @model_validator(mode="after")
    def _different(self) -> Self:
        if self.from_status == self.to_status:
            raise ValueError(N_("from_status and to_status must differ"))
        return self


class StepUpdate(InputModel):
    """Changes to a step (the move itself, who may take it, what it requires)."""

    from_status: TicketStatus | None = None
    to_status: TicketStatus | None = None
    allowed_roles: Roles | None = None
    requires_comment: bool | None = None
    requires_photo: bool | None = None
    requires_all_tasks_done: bool | None = None
    requires_signature: bool | None = None
    requires_valid_licence: bool | None = None
    requires_parts_recorded: bool | None = None
    position: Annotated[int, Field(ge=0, le=10_000)] | None = None

    @field_validator(
        "from_status",
        "to_status",
        "allowed_roles",
        "requires_comment",
        "requires_photo",
        "requires_all_tasks_done",
        "requires_signature",
        "requires_valid_licence",
        "requires_parts_recorded",
        "position",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)

    @field_validator("allowed_roles")
    @classmethod
    def _dedupe(cls, value: list[StepRole] | None) -> list[StepRole] | None:
        return _unique_roles(value)


class StepRead(ReadModel):
    """A step of a workflow."""

    id: uuid.UUID
    client_id: uuid.UUID
    workflow_id: uuid.UUID
    from_status: TicketStatus
    to_status: TicketStatus
    allowed_roles: list[StepRole]
    requires_comment: bool
    requires_photo: bool
    requires_all_tasks_done: bool
    requires_signature: bool
    requires_valid_licence: bool
    requires_parts_recorded: bool
    position: int
    created_at: datetime
    updated_at: datetime


# --- tickets -------------------------------------------------------------------------------------


class TicketCreate(InputModel):
    """A new service ticket in one of the caller's locales (on an asset: its locale and area,
    unless given)."""

    title: Title
    description: Description = ""
    locale_id: uuid.UUID | None = None
    area_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    priority: TicketPriority = TicketPriority.medium
    required_skill: TechnicianSkill | None = None
    required_certification: Certification | None = None
    planned_at: ApiDateTime | None = None
    custom_fields: CustomFieldValues = Field(default_factory=dict)


class TicketUpdate(InputModel):
    """Changes to a ticket; the status changes only through transitions."""

    title: Title | None = None
    description: Description | None = None
    priority: TicketPriority | None = None
    area_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    planned_at: ApiDateTime | None = None
    parts_cost_minor: MinorUnits | None = None
    currency: Currency | None = None
    custom_fields: CustomFieldValues | None = None

    @field_validator(
        "title",
        "description",
        "priority",
        "parts_cost_minor",
        "currency",
        "custom_fields",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        return refuse_null(value)


class TicketRead(ReadModel):
    """A service ticket; times are in UTC."""

    id: uuid.UUID
    client_id: uuid.UUID
    number: int
    title: str
    description: str
    locale_id: uuid.UUID
    area_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    requester_id: uuid.UUID | None
    technician_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    workflow_id: uuid.UUID | None
    priority: TicketPriority
    status: TicketStatus
    required_skill: str | None
    required_certification: str | None
    source: str
    reporter_name: str | None
    reporter_contact: str | None
    maintenance_plan_id: uuid.UUID | None
    planned_at: datetime | None
    sla_policy_id: uuid.UUID | None
    sla_response_due_at: datetime | None
    sla_resolution_due_at: datetime | None
    sla_response_breached: bool
    sla_resolution_breached: bool
    sla_clock: str
    sla_response_warned_at: datetime | None
    sla_resolution_warned_at: datetime | None
    sla_paused_at: datetime | None
    sla_paused_minutes: int
    responded_at: datetime | None
    resolved_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    labour_cost_minor: int
    parts_cost_minor: int
    currency: str
    ai_cause: str | None
    ai_skill: str | None
    ai_parts: list[Any]
    ai_confidence: float | None
    ai_similar_ticket_ids: list[Any]
    ai_diagnosed_at: datetime | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def code(self) -> str:
        """The human-readable code, e.g. ``T-000123``."""
        return ticket_code(self.number)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_cost_minor(self) -> int:
        """Labour plus parts, in minor units of ``currency``."""
        return self.labour_cost_minor + self.parts_cost_minor


class TransitionCreate(InputModel):
    """Move a ticket to another status (the only way to change a status)."""

    to_status: TicketStatus
    comment: OptionalComment | None = None


class HistoryRead(ReadModel):
    """One status move of a ticket."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    from_status: TicketStatus | None
    to_status: TicketStatus
    actor_id: uuid.UUID | None
    comment: str
    created_at: datetime


class CommentCreate(InputModel):
    """A comment on a ticket."""

    body: CommentText


class CommentRead(ReadModel):
    """A comment on a ticket."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: datetime
    updated_at: datetime
