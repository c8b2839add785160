"""Human labels of the enum values a person sees (``en_route`` → "En camino").

Enum values stay English identifiers in every answer; what a screen, a notification or an e-mail
shows is the value's label in the reader's language. The tables are keyed by enum name, as
``GET /api/v1/labels`` answers them; ``tests/core/test_labels.py`` checks that each table names
every value of its enum (the enums live in their modules; core imports none of them).
"""

from __future__ import annotations

from kerops.core.i18n import N_, gettext

#: ``{enum name: {value: English label}}``, translated when read.
LABELS: dict[str, dict[str, str]] = {
    "ticket_status": {
        "open": N_("Open"),
        "assigned": N_("Assigned"),
        "accepted": N_("Accepted"),
        "en_route": N_("En route"),
        "in_progress": N_("In progress"),
        "on_hold": N_("On hold"),
        "waiting_parts": N_("Waiting for parts"),
        "waiting_approval": N_("Waiting for approval"),
        "resolved": N_("Resolved"),
        "completed": N_("Completed"),
        "cancelled": N_("Cancelled"),
        "reopened": N_("Reopened"),
    },
    "ticket_priority": {
        "low": N_("Low"),
        "medium": N_("Medium"),
        "high": N_("High"),
        "critical": N_("Critical"),
    },
    "ticket_source": {
        "manual": N_("Raised by a person"),
        "scan": N_("QR code report"),
        "plan": N_("Preventive maintenance"),
        "sensor": N_("Sensor alert"),
    },
    "sla_target": {
        "response": N_("Response"),
        "resolution": N_("Resolution"),
    },
    "sla_clock": {
        "business": N_("Business hours"),
        "calendar": N_("Calendar time"),
    },
    "asset_status": {
        "operational": N_("Operational"),
        "maintenance": N_("Under maintenance"),
        "down": N_("Down"),
        "in_storage": N_("In storage"),
        "disposed": N_("Disposed of"),
    },
    "technician_skill": {
        "electricity": N_("Electricity"),
        "hvac": N_("Air conditioning"),
        "plumbing": N_("Plumbing"),
        "general": N_("General maintenance"),
        "iot_install": N_("Sensor installation"),
    },
    "task_kind": {
        "check": N_("Check"),
        "number": N_("Reading"),
        "text": N_("Note"),
        "pass_fail": N_("Pass or fail"),
    },
    "attachment_kind": {
        "photo": N_("Photo"),
        "video": N_("Video"),
        "document": N_("Document"),
        "signature": N_("Signature"),
    },
    "notification_type": {
        "ticket.created": N_("New ticket"),
        "ticket.assigned": N_("Ticket assigned"),
        "ticket.status_changed": N_("Ticket status changed"),
        "sla.warning": N_("SLA deadline near"),
        "sla.breached": N_("SLA deadline passed"),
        "plan.generated": N_("Preventive work generated"),
        "sensor.alert": N_("Sensor alert"),
        "certification.expiring": N_("Licence expiring"),
        "stock.low": N_("Low stock"),
    },
    "user_role": {
        "super_admin": N_("Platform staff"),
        "client_owner": N_("Account owner"),
        "client_member": N_("Member"),
        "technician": N_("Technician"),
        "vendor_admin": N_("Vendor administrator"),
    },
    "client_role": {
        "admin": N_("Administrator"),
        "manager": N_("Manager"),
        "viewer": N_("Viewer"),
    },
    "local_role": {
        "manager": N_("Manager"),
        "requester": N_("Requester"),
        "viewer": N_("Viewer"),
    },
    "subscription_plan": {
        "free": N_("Free"),
        "basic": N_("Basic"),
        "pro": N_("Pro"),
        "enterprise": N_("Enterprise"),
    },
    "shift_type": {
        "working": N_("Working day"),
        "day_off": N_("Day off"),
        "sick_leave": N_("Sick leave"),
        "vacation": N_("Vacation"),
    },
    "area_kind": {
        "floor": N_("Floor"),
        "zone": N_("Zone"),
        "room": N_("Room"),
        "other": N_("Other"),
    },
    "product_category": {
        "hardware_kit": N_("Hardware kit"),
        "sensor_unit": N_("Sensor"),
        "setup_fee": N_("Setup fee"),
        "consulting_hour": N_("Consulting hour"),
        "spare_part": N_("Spare part"),
    },
    "plan_trigger": {
        "date": N_("By date"),
        "meter": N_("By meter reading"),
    },
    "interval_unit": {
        "day": N_("Days"),
        "week": N_("Weeks"),
        "month": N_("Months"),
        "year": N_("Years"),
    },
    "device_status": {
        "active": N_("Active"),
        "inactive": N_("Inactive"),
        "fault": N_("Fault"),
    },
    "rule_kind": {
        "above": N_("Above a limit"),
        "below": N_("Below a limit"),
        "outside": N_("Outside a range"),
        "rate": N_("Changing too fast"),
        "no_data": N_("No readings"),
    },
    "rule_state": {
        "ok": N_("Normal"),
        "tripped": N_("Tripped"),
    },
    "webhook_delivery_status": {
        "pending": N_("Pending"),
        "sending": N_("Sending"),
        "succeeded": N_("Delivered"),
        "failed": N_("Failed"),
        "dead": N_("Given up"),
    },
}


def label(enum_name: str, value: object, language: str | None = None) -> str:
    """The label of ``value`` of ``enum_name`` in ``language`` (the request's by default); the
    value itself when it has none."""
    text = LABELS.get(enum_name, {}).get(str(value))
    return gettext(text, language) if text else str(value)


def labels(language: str | None = None) -> dict[str, dict[str, str]]:
    """Every table, translated: ``{enum name: {value: label}}``."""
    return {
        name: {value: gettext(text, language) for value, text in table.items()}
        for name, table in LABELS.items()
    }
