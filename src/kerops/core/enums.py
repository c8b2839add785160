"""Enums shared across modules (stored as their string values)."""

from __future__ import annotations

import enum


class UserRole(enum.StrEnum):
    """A user's global role; locale-level roles come from ``local_members``."""

    super_admin = "super_admin"  # platform staff (KER): everything
    client_owner = "client_owner"  # owns a client account and its locales
    client_member = "client_member"  # belongs to a client; rights per locale via local_members,
    # or client-wide through ``users.client_role`` (ClientRole)
    technician = "technician"  # works tickets assigned to them (KER, client or vendor)
    vendor_admin = "vendor_admin"  # manages one vendor's users


class ClientRole(enum.StrEnum):
    """A client member's client-wide role (``users.client_role``), beside any locale roles."""

    admin = "admin"  # the owner's rights, except closing the account and handing over ownership
    manager = "manager"  # manager of every locale of the client, including ones created later
    viewer = "viewer"  # reads every locale of the client


class SubscriptionPlan(enum.StrEnum):
    """A client's subscription plan; limits per plan live in ``plan_limits``."""

    free = "free"
    basic = "basic"
    pro = "pro"
    enterprise = "enterprise"


class LocalRole(enum.StrEnum):
    """A user's role within one locale (``local_members.role``)."""

    manager = "manager"  # full rights within the locale
    requester = "requester"  # raises and follows own tickets
    viewer = "viewer"  # reads


class AssetStatus(enum.StrEnum):
    """Where an asset stands: in service, under maintenance, down, stored or disposed of."""

    operational = "operational"
    maintenance = "maintenance"
    down = "down"
    in_storage = "in_storage"
    disposed = "disposed"


class ProductCategory(enum.StrEnum):
    """Categories of the product catalogue."""

    hardware_kit = "hardware_kit"
    sensor_unit = "sensor_unit"
    setup_fee = "setup_fee"
    consulting_hour = "consulting_hour"
    spare_part = "spare_part"


class TicketStatus(enum.StrEnum):
    """The 12 states of a service ticket's field-service lifecycle (open → completed)."""

    open = "open"  # raised, nobody assigned yet
    assigned = "assigned"  # a technician (and vendor) is assigned
    accepted = "accepted"  # the technician accepted the job
    en_route = "en_route"  # travelling to the site
    in_progress = "in_progress"  # work started on site
    on_hold = "on_hold"  # paused (site closed, access denied...); SLA clock paused
    waiting_parts = "waiting_parts"  # paused until parts arrive; SLA clock paused
    waiting_approval = "waiting_approval"  # a quote or extra work awaits the client; clock paused
    resolved = "resolved"  # the technician says it is fixed
    completed = "completed"  # the client confirmed; closed
    cancelled = "cancelled"  # withdrawn; closed
    reopened = "reopened"  # the fix did not hold; back to work


class TicketPriority(enum.StrEnum):
    """How urgent a ticket is."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class TechnicianSkill(enum.StrEnum):
    """The trades a technician works in."""

    electricity = "electricity"
    hvac = "hvac"
    plumbing = "plumbing"
    general = "general"
    iot_install = "iot_install"


class ShiftType(enum.StrEnum):
    """Kinds of technician shift: a working day or an absence."""

    working = "working"
    day_off = "day_off"
    sick_leave = "sick_leave"
    vacation = "vacation"


class WarehouseKind(enum.StrEnum):
    """Where stock is kept."""

    central = "central"  # the client's main store
    locale = "locale"  # a locale's storeroom
    van = "van"  # one technician's vehicle


class MovementKind(enum.StrEnum):
    """What moved a quantity of stock (``inventory_movements.kind``)."""

    receipt = "receipt"  # received from a purchase order (or an opening balance)
    issue = "issue"  # taken for a ticket
    return_ = "return"  # unused parts back from a ticket
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    adjustment = "adjustment"  # a correction with its reason
    counted = "count"  # the difference a posted stock count found


class MovementDocument(enum.StrEnum):
    """The kind of document a movement belongs to."""

    purchase_order_line = "purchase_order_line"
    ticket = "ticket"
    transfer = "transfer"
    stock_count = "stock_count"
    adjustment = "adjustment"
    stock_import = "stock_import"


class ReservationStatus(enum.StrEnum):
    """A ticket's hold on stock."""

    active = "active"
    released = "released"  # the ticket was cancelled, or the hold removed
    consumed = "consumed"  # the parts were issued


class PurchaseOrderStatus(enum.StrEnum):
    """The lifecycle of a purchase order."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    ordered = "ordered"
    partially_received = "partially_received"
    received = "received"
    closed = "closed"
    cancelled = "cancelled"


class StockCountStatus(enum.StrEnum):
    """A cycle count: open while counting, then posted or cancelled."""

    open = "open"
    posted = "posted"
    cancelled = "cancelled"


class WorkLogCategory(enum.StrEnum):
    """What a technician's logged time was spent on."""

    work = "work"
    travel = "travel"
    waiting = "waiting"


class ReportStatus(enum.StrEnum):
    """A report file being made: queued, being written, ready to download, or failed."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ReportFrequency(enum.StrEnum):
    """How often a scheduled report is sent."""

    weekly = "weekly"
    monthly = "monthly"
