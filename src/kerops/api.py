"""The list of every module's router (mounted under /api/v1 by the app factory)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

#: The tags of the OpenAPI document, in documentation order, each with what it groups.
OPENAPI_TAGS: list[dict[str, Any]] = [
    {"name": "pages", "description": "Pages for people: the landing page at `/`."},
    {"name": "health", "description": "Liveness and readiness of the service (no sign-in)."},
    {
        "name": "auth",
        "description": "Sign-up, sign-in with a password or a one-time code, token refresh and "
        "sign-out, and the signed-in user.",
    },
    {
        "name": "identity providers",
        "description": "OpenID Connect providers a client or vendor signs in with "
        "(needs the `admin` scope with an API key).",
    },
    {"name": "sso", "description": "Single sign-on with an identity provider (browser flow)."},
    {
        "name": "api keys",
        "description": "Keys for integrations, sent as `X-API-Key`, limited by scopes "
        "(`read`, `write`, `admin`); the secret is shown once.",
    },
    {
        "name": "users",
        "description": "People: invitations, roles, profile, deactivation and reactivation.",
    },
    {
        "name": "clients",
        "description": "Client organisations: their owner and plan, and handing ownership to "
        "an admin.",
    },
    {
        "name": "vendors",
        "description": "Contractor companies (by RUT): the platform's network and each "
        "client's own.",
    },
    {
        "name": "tenancy",
        "description": "A client's premises (locales), their nested areas and who works in "
        "each locale with which role.",
    },
    {
        "name": "system",
        "description": "Platform settings, plan limits and mobile app releases with the "
        "update check.",
    },
    {"name": "audit", "description": "The append-only log of every change made through the API."},
    {
        "name": "maintenance plans",
        "description": "Preventive maintenance of an asset: recurrence rules and a preview of "
        "the next dates.",
    },
    {
        "name": "workforce",
        "description": "Technicians' shifts and availability, and their licences and "
        "certifications with expiry, verification and document.",
    },
    {
        "name": "workflows",
        "description": "The steps a client's tickets move through, and who may take each.",
    },
    {"name": "sla", "description": "Response and resolution targets per priority and locale."},
    {
        "name": "tickets",
        "description": "Service tickets: creation, assignment, transitions, history, comments, "
        "tasks and diagnosis.",
    },
    {
        "name": "ticket attachments",
        "description": "Photos and documents of a ticket: upload, list, download, delete.",
    },
    {
        "name": "labour",
        "description": "Technicians' time on tickets (manual entries and timers) and the "
        "hourly rates it is costed at; a ticket's labour cost is the sum of its logs.",
    },
    {
        "name": "inventory",
        "description": "The product catalogue (KER's and each client's products and spare "
        "parts), warehouses and vans, stock, the ledger of movements, transfers, adjustments, "
        "stock counts and valuation.",
    },
    {
        "name": "purchasing",
        "description": "Purchase orders: drafting, approval, placing (PDF e-mailed to the "
        "vendor), receipts into stock, closing; approval rules, settings and the reorder run.",
    },
    {
        "name": "assets",
        "description": "Equipment per locale: its tree, status history, downtime, parts list, "
        "QR code and the public scan page and fault report.",
    },
    {
        "name": "iot",
        "description": "Sensors on assets: devices and their credentials, threshold rules, "
        "readings (sent by devices) and their series.",
    },
    {
        "name": "custom fields",
        "description": "The fields a client adds to its assets, tickets and locales: text, "
        "number, date, yes/no or one of a list, required or not, in the client's order.",
    },
    {
        "name": "exports",
        "description": "Assets, tickets and locales as CSV or XLSX spreadsheets, filtered as "
        "their lists, with a column per custom field.",
    },
    {
        "name": "analytics",
        "description": "The metrics of a client's maintenance: the dashboard's overview and "
        "each metric's series by day, week or month in every locale's own time zone.",
    },
    {
        "name": "reports",
        "description": "A list's rows as a file made by a job (CSV, XLSX or PDF): its status, "
        "its download and a signed link that expires.",
    },
    {"name": "notifications", "description": "A user's in-app notifications."},
    {
        "name": "sync",
        "description": "The changes, deletions and departures an app applies to stay in step "
        "(one stream after a cursor).",
    },
    {
        "name": "imports",
        "description": "Onboarding by spreadsheet: locales, areas, assets, products, users and "
        "maintenance plans from CSV or XLSX (a dry run first), and their templates.",
    },
    {
        "name": "webhooks",
        "description": "Signed HTTP callbacks of a client's events, their deliveries and retries.",
    },
]

#: Operation ids where an endpoint's own name says too little; every other operation is named
#: after its endpoint in camelCase (``list_tickets`` -> ``listTickets``).
OPERATION_NAMES: dict[str, str] = {
    "health": "getHealth",
    "ready": "getReadiness",
    "register": "registerOwner",
    "token": "issueToken",
    "refresh": "refreshToken",
    "me": "getCurrentUser",
    "sync": "syncChanges",
    "request_code": "requestOtpCode",
    "verify_code": "verifyOtpCode",
    "add_member": "addLocaleMember",
    "list_members": "listLocaleMembers",
    "get_member": "getLocaleMember",
    "update_member": "updateLocaleMember",
    "remove_member": "removeLocaleMember",
    "create_plan": "createMaintenancePlan",
    "list_plans": "listMaintenancePlans",
    "get_plan": "getMaintenancePlan",
    "update_plan": "updateMaintenancePlan",
    "delete_plan": "deleteMaintenancePlan",
    "preview_plan": "previewMaintenancePlan",
    "availability": "getTechnicianAvailability",
    "create_step": "createWorkflowStep",
    "list_steps": "listWorkflowSteps",
    "get_step": "getWorkflowStep",
    "update_step": "updateWorkflowStep",
    "delete_step": "deleteWorkflowStep",
    "create_policy": "createSlaPolicy",
    "list_policies": "listSlaPolicies",
    "get_policy": "getSlaPolicy",
    "update_policy": "updateSlaPolicy",
    "delete_policy": "deleteSlaPolicy",
    "list_history": "listTicketHistory",
    "add_comment": "addTicketComment",
    "list_comments": "listTicketComments",
    "list_candidates": "listTicketCandidates",
    "list_tasks": "listTicketTasks",
    "create_task": "createTicketTask",
    "update_task": "updateTicketTask",
    "delete_task": "deleteTicketTask",
    "complete_task": "completeTicketTask",
    "upload_attachment": "uploadTicketAttachment",
    "list_attachments": "listTicketAttachments",
    "get_attachment": "getTicketAttachment",
    "delete_attachment": "deleteTicketAttachment",
    "download_attachment": "downloadTicketAttachment",
    "rerun_diagnosis": "rerunTicketDiagnosis",
    "issue_part": "issueTicketPart",
    "return_part": "returnTicketPart",
    "create_reservations": "createTicketReservations",
    "list_reservations": "listTicketReservations",
    "release_reservation": "releaseTicketReservation",
    "list_status_history": "listAssetStatusHistory",
    "get_downtime": "getAssetDowntime",
    "get_qr": "getAssetQrCode",
    "scan": "scanAsset",
    "list_bom": "listBomLines",
    "create_device": "createIotDevice",
    "list_devices": "listIotDevices",
    "get_device": "getIotDevice",
    "update_device": "updateIotDevice",
    "delete_device": "deleteIotDevice",
    "rotate_credential": "rotateIotDeviceCredential",
    "create_rule": "createIotRule",
    "list_rules": "listIotRules",
    "get_rule": "getIotRule",
    "update_rule": "updateIotRule",
    "delete_rule": "deleteIotRule",
    "ingest_readings": "ingestIotReadings",
    "read_series": "listIotReadings",
    "unread_count": "countUnreadNotifications",
    "mark_all_read": "markAllNotificationsRead",
    "mark_read": "markNotificationRead",
    "list_deliveries": "listWebhookDeliveries",
    "retry_delivery": "retryWebhookDelivery",
    "get_overview": "getAnalyticsOverview",
    "get_metric": "getAnalyticsMetric",
}


def routers() -> list[APIRouter]:
    """Every router of the API, in documentation order."""
    from kerops.analytics.router import router as analytics_router
    from kerops.assets.plans_router import router as asset_plans_router
    from kerops.assets.router import router as assets_router
    from kerops.audit.router import router as audit_router
    from kerops.auth.api_keys_router import router as api_keys_router
    from kerops.auth.invitations_router import router as invitations_router
    from kerops.auth.otp_router import router as otp_router
    from kerops.auth.router import router as auth_router
    from kerops.auth.sso_router import flow as sso_flow_router
    from kerops.auth.sso_router import providers as sso_providers_router
    from kerops.customfields.router import router as custom_fields_router
    from kerops.exports.router import router as exports_router
    from kerops.imports.inventory_router import router as inventory_files_router
    from kerops.imports.inventory_router import uploads as inventory_uploads_router
    from kerops.imports.router import router as imports_router
    from kerops.imports.router import uploads as imports_uploads_router
    from kerops.inventory.router import router as products_router
    from kerops.inventory.stores_router import router as stores_router
    from kerops.iot.readings_router import router as iot_readings_router
    from kerops.iot.router import router as iot_router
    from kerops.iot.rules_router import router as iot_rules_router
    from kerops.labour.router import router as labour_router
    from kerops.notifications.router import notifications_router, webhooks_router
    from kerops.operations.assignment_router import router as ticket_assignment_router
    from kerops.operations.attachments_router import router as ticket_attachments_router
    from kerops.operations.diagnosis_router import router as ticket_diagnosis_router
    from kerops.operations.router import tickets_router, workflows_router
    from kerops.operations.scan_router import form_router as scan_form_router
    from kerops.operations.scan_router import router as scan_router
    from kerops.operations.sla_router import router as sla_router
    from kerops.operations.tasks_router import router as ticket_tasks_router
    from kerops.parts.router import router as ticket_parts_router
    from kerops.purchasing.router import router as purchasing_router
    from kerops.reports.pdf_router import router as report_documents_router
    from kerops.reports.router import exports as list_exports_router
    from kerops.reports.router import public as report_files_router
    from kerops.reports.router import router as reports_router
    from kerops.reports.schedules_router import router as report_schedules_router
    from kerops.sync.router import router as sync_router
    from kerops.system.health import router as health_router
    from kerops.system.router import router as system_router
    from kerops.tenancy.router import router as tenancy_router
    from kerops.users.clients_router import router as clients_router
    from kerops.users.router import router as users_router
    from kerops.users.vendors_router import router as vendors_router
    from kerops.workforce.documents_router import router as certification_documents_router
    from kerops.workforce.router import router as workforce_router

    return [
        health_router,
        auth_router,
        otp_router,
        sso_providers_router,
        sso_flow_router,
        api_keys_router,
        users_router,
        invitations_router,
        clients_router,
        vendors_router,
        tenancy_router,
        system_router,
        list_exports_router,  # before each list's /{list}/{id}
        audit_router,
        asset_plans_router,
        workforce_router,
        certification_documents_router,
        workflows_router,
        sla_router,
        tickets_router,
        ticket_assignment_router,
        ticket_tasks_router,
        ticket_attachments_router,
        ticket_diagnosis_router,
        report_documents_router,
        inventory_files_router,  # before the products' /products/{product_id}
        inventory_uploads_router,
        ticket_parts_router,
        labour_router,
        products_router,
        stores_router,
        purchasing_router,
        report_schedules_router,
        assets_router,
        scan_router,
        scan_form_router,
        iot_router,
        iot_rules_router,
        iot_readings_router,
        custom_fields_router,
        exports_router,
        analytics_router,
        reports_router,
        report_files_router,
        notifications_router,
        webhooks_router,
        sync_router,
        imports_router,
        imports_uploads_router,
    ]
