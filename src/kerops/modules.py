"""The app's modules, in one list: what each plugs into ``core`` when the app starts.

``core`` imports no domain. A domain registers with it instead: its access rules
(``kerops.core.access.rule``) and plan-limit counters (``kerops.core.limits.counter``) in its
``access_rules`` module, its jobs (``kerops.core.jobs.job``) in the modules of ``JOB_MODULES``.
``install`` imports them all, once, before an app state or a job engine is built. A new module
adds its line here and touches nothing outside its own folder.
"""

from __future__ import annotations

import importlib
import importlib.util

from kerops.core import jobs

#: The domains, lowest first; each may have ``models`` and ``access_rules``.
DOMAINS: tuple[str, ...] = (
    "audit",
    "events",
    "idempotency",
    "users",
    "system",
    "auth",
    "customfields",
    "tenancy",
    "inventory",
    "purchasing",
    "workforce",
    "assets",
    "operations",
    "parts",
    "labour",
    "iot",
    "automation",
    "notifications",
    "sync",
    "exports",
    "imports",
    "analytics",
    "reports",
)

#: The modules that declare jobs.
JOB_MODULES: tuple[str, ...] = (
    "kerops.core.job_relay",  # jobs.relay (outbox rows whose job has not run)
    "kerops.events.service",
    "kerops.iot.jobs",  # iot.no_data, iot.retention
    "kerops.automation.pm",  # preventive maintenance (pm.generate)
    "kerops.purchasing.jobs",  # purchasing.send_order, .email_sweep, .reorder
    "kerops.operations.diagnosis",  # tickets.diagnose
    "kerops.operations.sla_jobs",
    "kerops.notifications.jobs",
    "kerops.core.storage.sweep",  # storage.sweep (orphan objects)
    "kerops.idempotency.jobs",  # idempotency.sweep (expired keys)
    "kerops.sync.jobs",  # sync.prune (old tombstones and departures)
    "kerops.reports.schedule_jobs",  # reports.schedules (scheduled reports due)
    "kerops.reports.service",  # reports.generate, reports.sweep (expired files)
)

_installed = False


def _optional(name: str) -> None:
    if importlib.util.find_spec(name) is not None:
        importlib.import_module(name)


def import_models() -> None:
    """Import every model module, so the metadata is complete (Alembic, tests, the app)."""
    importlib.import_module("kerops.core.job_outbox")
    for domain in DOMAINS:
        _optional(f"kerops.{domain}.models")


def install() -> None:
    """Plug every module into core: models, access rules, plan limits and jobs (idempotent)."""
    global _installed
    if _installed:
        return
    import_models()
    for domain in DOMAINS:
        _optional(f"kerops.{domain}.access_rules")
    jobs.add_job_modules(*JOB_MODULES)
    _installed = True
