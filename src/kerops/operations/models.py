"""Operations: workflows (allowed status moves) and service tickets with their details."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from kerops.core.enums import TicketPriority, TicketStatus
from kerops.core.models import Base, IdMixin, TimestampMixin
from kerops.core.sla_clock import ClockKind
from kerops.core.storage.sweep import stored_files
from kerops.core.types import StrEnum, utcnow
from kerops.customfields.models import values_column, values_index


class Workflow(IdMixin, TimestampMixin, Base):
    """A client's set of allowed ticket status transitions; one is the client's default."""

    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("client_id", "name"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)


class WorkflowStep(IdMixin, TimestampMixin, Base):
    """One allowed move ``from_status → to_status``: who may take it and what it requires."""

    __tablename__ = "workflow_steps"
    __table_args__ = (UniqueConstraint("workflow_id", "from_status", "to_status"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[TicketStatus] = mapped_column(StrEnum(TicketStatus))
    to_status: Mapped[TicketStatus] = mapped_column(StrEnum(TicketStatus))
    #: Actor kinds allowed: owner, manager, requester, technician, vendor_admin, staff.
    allowed_roles: Mapped[list[str]] = mapped_column(default=list)
    requires_comment: Mapped[bool] = mapped_column(default=False)
    requires_photo: Mapped[bool] = mapped_column(default=False)
    requires_all_tasks_done: Mapped[bool] = mapped_column(default=False)
    requires_signature: Mapped[bool] = mapped_column(default=False)
    requires_valid_licence: Mapped[bool] = mapped_column(default=False)
    #: The ticket must have parts issued (``inventory_movements`` of kind issue) to take it.
    requires_parts_recorded: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    position: Mapped[int] = mapped_column(default=0)


class SlaPolicy(IdMixin, TimestampMixin, Base):
    """A client's SLA targets per priority: client-wide (no locale) or for one locale."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("client_id", "locale_id"),
        # One client-wide policy per client (NULL locale ids are distinct in the constraint above).
        Index(
            "uq_sla_policies_client_wide",
            "client_id",
            unique=True,
            sqlite_where=text("locale_id IS NULL"),
            postgresql_where=text("locale_id IS NULL"),
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("locales.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(120))
    #: ``{priority: {"response_minutes": int, "resolution_minutes": int}}`` for every priority.
    targets: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Share of a target at which a warning is raised (the breach is at 100 %).
    warning_percent: Mapped[int] = mapped_column(default=75)
    #: SLA clock: targets run in calendar time or in the locale's business hours.
    clock: Mapped[ClockKind] = mapped_column(
        StrEnum(ClockKind), default=ClockKind.calendar, server_default=ClockKind.calendar.value
    )


class TicketCounter(Base):
    """The last ticket number handed out per client (bumped atomically: never duplicated)."""

    __tablename__ = "ticket_counters"
    __audited__ = False

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    last_number: Mapped[int] = mapped_column(default=0)


class ServiceTicket(IdMixin, TimestampMixin, Base):
    """A service ticket: what is wrong where, who works it, its SLA, diagnosis and costs."""

    __tablename__ = "service_tickets"
    __table_args__ = (
        UniqueConstraint("client_id", "number"),
        # The lists' default order (newest first) read straight off these, page 1 or page 1,000.
        Index(
            "ix_service_tickets_client_id_status_created_at_id",
            "client_id",
            "status",
            "created_at",
            "id",
        ),
        Index(
            "ix_service_tickets_client_id_locale_id_created_at_id",
            "client_id",
            "locale_id",
            "created_at",
            "id",
        ),
        Index("ix_service_tickets_technician_id_status", "technician_id", "status"),
        # A list's ``updated_since`` (an app's incremental sync), within a client.
        Index("ix_service_tickets_client_id_updated_at_id", "client_id", "updated_at", "id"),
        # The clients of a vendor's or a technician's tickets, read by the row-level security
        # policies once per statement (``kerops.core.row_scope``), one index probe per client.
        Index("ix_service_tickets_vendor_id_client_id", "vendor_id", "client_id"),
        Index("ix_service_tickets_technician_id_client_id", "technician_id", "client_id"),
        # SLA clock: the tickets whose next threshold is due (only watched tickets are indexed).
        values_index("service_tickets"),
        Index(
            "ix_service_tickets_sla_next_check_at",
            "sla_next_check_at",
            sqlite_where=text("sla_next_check_at IS NOT NULL"),
            postgresql_where=text("sla_next_check_at IS NOT NULL"),
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    area_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("local_areas.id", ondelete="SET NULL")
    )
    asset_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    requester_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    technician_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    vendor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="SET NULL"), index=True
    )
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workflows.id", ondelete="SET NULL")
    )
    maintenance_plan_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("asset_maintenance_plans.id", ondelete="SET NULL")
    )
    priority: Mapped[TicketPriority] = mapped_column(
        StrEnum(TicketPriority), default=TicketPriority.medium
    )
    status: Mapped[TicketStatus] = mapped_column(StrEnum(TicketStatus), default=TicketStatus.open)
    required_skill: Mapped[str | None] = mapped_column(String(32))
    required_certification: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual|scan|plan|sensor
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_contact: Mapped[str | None] = mapped_column(String(200))
    planned_at: Mapped[datetime | None]
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    sla_response_due_at: Mapped[datetime | None]
    sla_resolution_due_at: Mapped[datetime | None]
    sla_response_breached: Mapped[bool] = mapped_column(default=False)
    sla_resolution_breached: Mapped[bool] = mapped_column(default=False)
    # SLA clock (kerops.operations.sla): the clock, warning instants, pauses, the next check.
    sla_clock: Mapped[ClockKind] = mapped_column(
        StrEnum(ClockKind), default=ClockKind.calendar, server_default=ClockKind.calendar.value
    )
    sla_response_warn_at: Mapped[datetime | None]
    sla_resolution_warn_at: Mapped[datetime | None]
    sla_response_warned_at: Mapped[datetime | None]
    sla_resolution_warned_at: Mapped[datetime | None]
    sla_paused_at: Mapped[datetime | None]
    sla_paused_minutes: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    sla_next_check_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    ai_cause: Mapped[str | None] = mapped_column(Text)
    ai_skill: Mapped[str | None] = mapped_column(String(32))
    ai_parts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ai_confidence: Mapped[float | None]
    ai_similar_ticket_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The tickets ``ai_cause`` is taken from: a reader who may not read every one of them is
    # shown a cause taken from no ticket (``operations.diagnosis_shown``).
    ai_cause_ticket_ids: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    ai_diagnosed_at: Mapped[datetime | None]
    labour_cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    parts_cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CLP")
    #: Values of the client's custom fields of tickets, by code (``kerops.customfields``).
    custom_fields: Mapped[dict[str, Any]] = values_column()


class TicketHistory(IdMixin, Base):
    """One status move of a ticket, with who made it, when and why."""

    __tablename__ = "ticket_history"
    __table_args__ = (Index("ix_ticket_history_ticket_id_created_at", "ticket_id", "created_at"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE")
    )
    from_status: Mapped[TicketStatus | None] = mapped_column(StrEnum(TicketStatus))
    to_status: Mapped[TicketStatus] = mapped_column(StrEnum(TicketStatus))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketComment(IdMixin, TimestampMixin, Base):
    """A comment on a ticket."""

    __tablename__ = "ticket_comments"
    __table_args__ = (Index("ix_ticket_comments_ticket_id_created_at", "ticket_id", "created_at"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)


class TicketTask(IdMixin, TimestampMixin, Base):
    """A checklist item of a ticket: a check, a number within limits, a text or pass/fail."""

    __tablename__ = "ticket_tasks"
    __table_args__ = (Index("ix_ticket_tasks_ticket_id_position", "ticket_id", "position"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(default=0)
    label: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16), default="check")  # check|number|text|pass_fail
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    value_number: Mapped[float | None]
    value_text: Mapped[str | None] = mapped_column(Text)
    passed: Mapped[bool | None]
    is_done: Mapped[bool] = mapped_column(default=False)
    completed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    follow_up_ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="SET NULL")
    )


class TicketAttachment(IdMixin, Base):
    """A photo, video or document uploaded to a ticket (stored under a server-chosen key)."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (
        Index("ix_ticket_attachments_ticket_id_created_at", "ticket_id", "created_at"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    locale_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locales.id", ondelete="CASCADE"))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # photo | video | document | signature
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Its objects: ``{owner}/tickets/{id}/{name}`` (the orphan sweep reads this).
stored_files("tickets", TicketAttachment.storage_key)


class ScanFollowLink(IdMixin, Base):
    """The private follow-up link of a ticket reported from an asset's public scan page: only
    the token's SHA-256 is kept; the reporter holds the token itself (docs/api.md)."""

    __tablename__ = "scan_follow_links"
    __audit_exclude__: ClassVar[frozenset[str]] = frozenset({"token_hash"})

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_tickets.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The language the report was written in: its follow-up page's default.
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
