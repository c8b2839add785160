"""The list of every module's router (mounted under /api/v1 by the app factory)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the API, in documentation order."""
    from kerops.assets.plans_router import router as asset_plans_router
    from kerops.assets.router import router as assets_router
    from kerops.assets.router import scan_form_router
    from kerops.audit.router import router as audit_router
    from kerops.auth.api_keys_router import router as api_keys_router
    from kerops.auth.otp_router import router as otp_router
    from kerops.auth.router import router as auth_router
    from kerops.auth.sso_router import flow as sso_flow_router
    from kerops.auth.sso_router import providers as sso_providers_router
    from kerops.inventory.router import router as products_router
    from kerops.iot.readings_router import router as iot_readings_router
    from kerops.iot.router import router as iot_router
    from kerops.iot.rules_router import router as iot_rules_router
    from kerops.notifications.router import notifications_router, webhooks_router
    from kerops.operations.assignment_router import router as ticket_assignment_router
    from kerops.operations.attachments_router import router as ticket_attachments_router
    from kerops.operations.diagnosis_router import router as ticket_diagnosis_router
    from kerops.operations.router import tickets_router, workflows_router
    from kerops.operations.sla_router import router as sla_router
    from kerops.operations.tasks_router import router as ticket_tasks_router
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
        clients_router,
        vendors_router,
        tenancy_router,
        system_router,
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
        products_router,
        assets_router,
        scan_form_router,
        iot_router,
        iot_rules_router,
        iot_readings_router,
        notifications_router,
        webhooks_router,
    ]
