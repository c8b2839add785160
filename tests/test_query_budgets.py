"""Query budgets: every route, called by an authorised user of client A, succeeds within its budget
of SQL statements, and no list costs a query per row.

Routes are aimed with their isolation cases (``tests/**/isolation_cases*.py``): a new route needs a
case there and, when its default (``DEFAULT_READ_BUDGET``, ``DEFAULT_WRITE_BUDGET``) is not enough,
an entry with its reason in ``BUDGETS``.
A statement is whatever the app's engine sends while the request runs (the event the ``queries``
fixture counts), except those of the background jobs the request queues: they run before it
answers (``jobs_inline``) but are told apart, and no periodic job runs meanwhile. On SQLite the
count includes the ``BEGIN`` of each transaction, which PostgreSQL's driver sends without a
statement of its own, so budgets are set for the larger of the two.

A collection route (its answer is a list, or has ``items``) must cost the same with more rows: rows
are added through its create route (``POST`` on the same path) or its entry in ``SEEDERS``, and a
paged one must also cost the same for a page of 1 and a page of all.

Every statement must be one SQLAlchemy can cache (not compiled again on each call).

Speed: one app and database per test module. Read routes share one world; every other route gets
a world of its own (new clients A and B) in that database; the few whose case makes a platform-wide
row (a setting's key, a release) get a database of their own.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import event, insert
from sqlalchemy.engine.default import NO_CACHE_KEY
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import AssetStatusChange
from kerops.core.enums import AssetStatus, LocalRole, ShiftType, TicketStatus, UserRole
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.iot.models import IoTReading
from kerops.main import create_app
from kerops.notifications.models import DeliveryStatus, EmailState, Notification, WebhookDelivery
from kerops.operations.models import TicketHistory
from kerops.reports.lists import LISTS as REPORT_LISTS
from kerops.reports.models import ReportDelivery
from kerops.workforce.models import TechnicianShift
from tests.assets.isolation_cases_assets import a_objects as asset_objects
from tests.conftest import fresh_database, make_settings, run_in_app
from tests.fixtures import files
from tests.fixtures.assets import make_bom_line, make_product
from tests.fixtures.factories import (
    PASSWORD,
    Account,
    Runner,
    add_member,
    make_locale,
    make_staff,
    make_user,
    unique_email,
)
from tests.fixtures.inventory import make_warehouse
from tests.fixtures.users import invitation_token
from tests.isolation import Case, World, build_world
from tests.reports.isolation_cases import a_report
from tests.test_isolation import CASES, DATA_PAGES, PAGES, PUBLIC
from tests.workforce.isolation_cases_workforce import a_objects as workforce_objects

Route = tuple[str, str]
P = "/api/v1"

# A read is the caller's user, the object or page and perhaps one batch of related rows; a write
# adds its rows, their audit rows and the checks before them.
DEFAULT_READ_BUDGET = 5
DEFAULT_WRITE_BUDGET = 10

# Routes that need more than their default, with the reason.
BUDGETS: dict[Route, int] = {
    # A list's export: the list's first page, its rows counted up to the direct limit (one
    # statement over that page's own), the reader's time zone, then its audit row written in a
    # short transaction of its own (the read connection writes nothing).
    **{("GET", f"{P}{export.path}/export"): 7 for export in REPORT_LISTS.values()},
    # The ticket, the technicians of the client and its private vendors, then one query each for
    # all their shifts, licences (when the ticket requires one) and open tickets.
    ("GET", f"{P}/tickets/{{ticket_id}}/candidates"): 7,
    # The dashboard: the caller, the time zones of the client's locales and technicians, then
    # one statement per family of cards over the period and the one before (tickets created
    # and planned, MTTR, response, SLA, first-time fix, PM compliance, costs, utilisation,
    # alarms, the backlog at both ends) and availability for each period: the same count
    # whatever the history's size.
    ("GET", f"{P}/analytics/overview"): 16,
    # The client's row, its owner, the client's default workflow and its steps, each with its
    # audit rows (the client's row is written first: its owner's row points at it).
    ("POST", f"{P}/auth/register"): 14,
    # A ticket: its number (a counter row, made on the client's first ticket), its SLA policy,
    # its first history row, each with its audit row, its event, and the jobs it queues (its
    # diagnosis, its event's dispatch) written to the jobs outbox in one INSERT.
    # (Each write of what the apps keep adds its rows of the sync log, in one INSERT, and a write
    # of an object with custom fields reads the client's definitions, in one query.)
    ("POST", f"{P}/tickets"): 18,
    ("POST", f"{P}/scan/{{code}}"): 15,
    # The same ticket, and the photo's attachment row with its audit row.
    ("POST", f"{P}/scan/{{code}}/photo-report"): 17,
    # A failed check opens a follow-up ticket (as above) besides updating the task.
    ("POST", f"{P}/tickets/{{ticket_id}}/tasks/{{task_id}}/complete"): 19,
    # The assignment, its history and audit rows, its event, the jobs outbox row of its
    # dispatch and its sync log rows.
    ("POST", f"{P}/tickets/{{ticket_id}}/assign"): 12,
    # An issue of parts: the ticket (locked), the warehouse, the product and the ticket's holds
    # of it, the ledger's conditional UPDATE and its movement, the ticket's movements for its
    # parts cost, then the holds and the ticket changed (one audit INSERT) and its sync log row.
    ("POST", f"{P}/tickets/{{ticket_id}}/parts"): 13,
    # A return: the ticket, the product, its movements on the ticket, the warehouse, the
    # ledger's upsert and movement, the parts cost, the ticket with its audit and sync rows.
    ("POST", f"{P}/tickets/{{ticket_id}}/parts/returns"): 12,
    # A work log: the ticket and the technician (both locked), the technician's logs around
    # its span, the rate lines, the sum of the ticket's other logs; then the log, its event and
    # the ticket's new labour cost with one audit INSERT, the jobs outbox row of the event's
    # dispatch and the ticket's sync log row. A stop or a delete reads the log instead of
    # the span and the rates.
    ("POST", f"{P}/tickets/{{ticket_id}}/work-logs"): 13,
    ("POST", f"{P}/tickets/{{ticket_id}}/work-logs/stop"): 12,
    ("DELETE", f"{P}/work-logs/{{log_id}}"): 12,
    # An import of assets: the caller, the locales they write into, the client's assets, its
    # custom fields of assets (one query for the whole file), the plan's limit, then the assets,
    # their first status changes and their audit rows in bulk, and their sync log rows (one
    # INSERT … SELECT).
    ("POST", f"{P}/imports/{{kind}}"): 12,
    # The ticket's move, its history and audit rows, its event, the jobs outbox row and the
    # sync log's rows; a move to cancelled or completed also reads the ticket's active holds
    # of stock (released or issued with it).
    ("POST", f"{P}/tickets/{{ticket_id}}/transitions"): 12,
    # An asset: its locale, the plan's limit, the client's custom fields of assets, the asset and
    # its first status change, each with its audit row, and its sync log row.
    ("POST", f"{P}/assets"): 12,
    # A plan and its next date, audited, and its sync log row.
    ("PATCH", f"{P}/assets/{{asset_id}}/maintenance-plans/{{plan_id}}"): 11,
    # The reset check of the cursor, the page of the log, then one statement per kind of object
    # (nine, whatever the page holds), on one read connection.
    ("GET", f"{P}/sync"): 13,
    # The plan's user limit, the user, their invitation code and locale membership, audited.
    ("POST", f"{P}/users/invite"): 11,
    # A purchase order: its vendor, warehouse and products (one query), its number (the
    # client's highest plus one, inserted in a savepoint: a concurrent twin retries), the order,
    # its lines and its first history row, with their audit rows.
    ("POST", f"{P}/purchase-orders"): 13,
    # An order with its lines and its history: three reads on one connection.
    ("GET", f"{P}/purchase-orders/{{order_id}}"): 6,
    # A receipt, the same for any number of lines: the order, its lines, their products and the
    # client's tolerance; the stock rows locked, updated (on hand, average, on order) and the
    # movements written (one ledger batch); the order's status, its history row, the lines'
    # received quantities and the audit rows.
    ("POST", f"{P}/purchase-orders/{{order_id}}/receipts"): 13,
    # A work order: the caller, then the ticket with the names it points at, its tasks, its
    # image files, its parts' movements, its work logs and its history, one statement each on
    # one read connection (the photos come from storage, not the database).
    ("GET", f"{P}/tickets/{{ticket_id}}/pdf"): 9,
    # A locale's monthly report: the caller and BEGIN, the locale with its client's name and
    # whether the caller manages it, then the month's summary: the dashboard's cards over both
    # months (one statement a card family, as the overview), the time zones, and the tickets,
    # MTTR, SLA, failures (two), PM and cost series. The same whatever the month holds.
    ("GET", f"{P}/locales/{{locale_id}}/reports/monthly.pdf"): 24,
    # The landing page reads nothing.
    ("GET", "/"): 0,
}

# Routes only platform staff may call: called as a super admin instead of A's owner.
STAFF_ONLY: dict[Route, str] = {
    ("GET", f"{P}/settings"): "platform settings",
    ("GET", f"{P}/settings/{{key}}"): "platform settings",
    ("PUT", f"{P}/settings/{{key}}"): "platform settings",
    ("DELETE", f"{P}/settings/{{key}}"): "platform settings",
    ("PATCH", f"{P}/plan-limits/{{plan}}"): "the plans' limits are the platform's",
    ("POST", f"{P}/app-versions"): "the release catalogue is the platform's",
    ("PATCH", f"{P}/app-versions/{{version_id}}"): "the release catalogue is the platform's",
    ("DELETE", f"{P}/app-versions/{{version_id}}"): "the release catalogue is the platform's",
}

# Routes whose case makes a platform-wide row once per world (a setting's key, a release), which
# the module's shared database would already hold: each gets a database of its own.
OWN_DATABASE: dict[Route, str] = {
    ("PUT", f"{P}/settings/{{key}}"): "the setting's key is unique platform-wide",
    ("DELETE", f"{P}/settings/{{key}}"): "the setting's key is unique platform-wide",
    ("PATCH", f"{P}/app-versions/{{version_id}}"): "a release is unique per platform",
    ("DELETE", f"{P}/app-versions/{{version_id}}"): "a release is unique per platform",
}


def _empty_locale(w: World) -> dict[str, Any]:
    assert w.a_owner.client_id is not None
    return {"locale_id": make_locale(w.run, w.a_owner.client_id, "A Vacío")}


def _unused_product(w: World) -> dict[str, Any]:
    return {"product_id": make_product(w.run, w.a_owner.client_id)}


def _empty_warehouse(w: World) -> dict[str, Any]:
    assert w.a_owner.client_id is not None
    return {"warehouse_id": make_warehouse(w.run, w.a_owner.client_id)}


def _new_part(w: World) -> dict[str, Any]:
    return {"product_id": str(make_product(w.run, w.a_owner.client_id)), "quantity": 2}


def _new_member(w: World) -> dict[str, Any]:
    assert w.a_owner.client_id is not None
    user = make_user(w.client, w.run, role=UserRole.client_member, client_id=w.a_owner.client_id)
    return {"user_id": str(user.id), "role": "viewer"}


def _spare_workflow(w: World) -> dict[str, Any]:
    response = w.client.post(
        f"{P}/workflows",
        json={"name": "A Secundario", "client_id": str(w.a_owner.client_id)},
        headers=w.a_owner.headers,
    )
    assert response.status_code == 201, response.text
    return {"workflow_id": response.json()["id"]}


def _ticket_to_assign(w: World) -> dict[str, Any]:
    workforce_objects(w)  # A's technician works 2030-03-04 09:00-18:00
    params: dict[str, Any] = CASES[("POST", f"{P}/tickets/{{ticket_id}}/assign")].params(w)
    return params


# Cases written for outsiders that cannot succeed for A's owner as they stand: the owner's version.
OWNER_CASES: dict[Route, Case] = {
    # A's locale has areas and members; only an empty one may be deleted.
    ("DELETE", f"{P}/locales/{{locale_id}}"): Case(params=_empty_locale),
    # A's product is on a parts list; only an unused one may be deleted.
    ("DELETE", f"{P}/products/{{product_id}}"): Case(params=_unused_product),
    # The case's product is already on the asset's parts list.
    ("POST", f"{P}/assets/{{asset_id}}/bom"): Case(
        params=lambda w: CASES[("POST", f"{P}/assets/{{asset_id}}/bom")].params(w),
        body=_new_part,
    ),
    # The case adds A's manager to B's locale; the owner adds a new member to A's locale.
    ("POST", f"{P}/locales/{{locale_id}}/members"): Case(
        params=lambda w: {"locale_id": w.a_locale}, body=_new_member
    ),
    # A's warehouse has held stock; only one that never did may be deleted.
    ("DELETE", f"{P}/warehouses/{{warehouse_id}}"): Case(params=_empty_warehouse),
    # The default workflow may not be deleted.
    ("DELETE", f"{P}/workflows/{{workflow_id}}"): Case(params=_spare_workflow),
    # A's technician is eligible only during a working shift.
    ("POST", f"{P}/tickets/{{ticket_id}}/assign"): Case(
        params=_ticket_to_assign,
        body=lambda w: {"technician_id": str(w.a_technician.id), "at": "2030-03-04T12:00:00Z"},
    ),
}


# Routes that take a file (``multipart/form-data``): the form to send.
Upload = Callable[[World], dict[str, Any]]
UPLOADS: dict[Route, Upload] = {
    ("POST", f"{P}/tickets/{{ticket_id}}/attachments"): lambda w: {
        "files": {"file": ("tablero.png", files.png(), "image/png")}
    },
    ("PUT", f"{P}/technicians/certifications/{{certification_id}}/document"): lambda w: {
        "files": {"file": ("licencia.pdf", files.PDF, "application/pdf")}
    },
}


# Set while a background job runs: its statements are the job's, not the request's.
IN_JOB: ContextVar[bool] = ContextVar("in_job", default=False)
#: Sent by the driver layer, never compiled (so never cached): not what the check is about.
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b", re.I)


@dataclass
class Recorder:
    """The statements the app's engine sends for requests while active (and, apart, for the
    background jobs those requests queued)."""

    statements: list[str] = field(default_factory=list)
    job_statements: list[str] = field(default_factory=list)
    #: Statements (of the request or its jobs) SQLAlchemy could not cache: compiled again on
    #: every call (e.g. ``insert().values([...])`` with the rows in it).
    uncached: list[str] = field(default_factory=list)
    active: bool = False
    #: Run when recording starts: the app forgets cached principals, so every recorded request
    #: pays for reading its caller (the worst case, the same every time).
    on_enter: Callable[[], None] | None = None

    def __enter__(self) -> Recorder:
        if self.on_enter is not None:
            self.on_enter()
        self.statements = []
        self.job_statements = []
        self.uncached = []
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False

    @classmethod
    def on(cls, client: TestClient) -> Recorder:
        """A recorder of ``client``'s app engine."""
        state = client.app.state.kerops  # type: ignore[attr-defined]
        recorder = cls(on_enter=state.db.principals.clear)
        run_job = state.jobs.run

        async def run_marked(name: str, **kwargs: Any) -> None:
            token = IN_JOB.set(True)
            try:
                await run_job(name, **kwargs)
            finally:
                IN_JOB.reset(token)

        state.jobs.run = run_marked

        @event.listens_for(state.db.engine.sync_engine, "before_cursor_execute")
        def _record(
            _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, *_args: Any
        ) -> None:
            if recorder.active:
                target = recorder.job_statements if IN_JOB.get() else recorder.statements
                target.append(statement)
                if getattr(context, "cache_hit", None) is NO_CACHE_KEY and not (
                    TRANSACTION_CONTROL.match(statement)
                ):
                    recorder.uncached.append(statement)

        def _record_direct(statement: str) -> None:
            # A read-only route's statement sent straight to the driver (kerops.core.reads):
            # compiled once per statement, so never uncached.
            if recorder.active:
                (recorder.job_statements if IN_JOB.get() else recorder.statements).append(statement)

        state.db.reads.listeners.append(_record_direct)
        return recorder


@dataclass
class Stage:
    """An app, its database, a statement recorder and a world to call routes in."""

    client: TestClient
    run: Runner
    recorder: Recorder
    world: World
    staff: Account


# --- seeders: rows for collections their create route (same path) cannot add ----------------------

Seeder = Callable[[Stage, dict[str, Any]], None]
SERIAL = itertools.count(1)


def _insert_rows(stage: Stage, model: Any, rows: list[dict[str, Any]]) -> None:
    async def create(session: AsyncSession) -> None:
        for row in rows:
            await session.execute(insert(model).values(id=uuid7(), **row))

    stage.run(create)


def _seed_status_changes(stage: Stage, params: dict[str, Any]) -> None:
    w, now = stage.world, utcnow()
    rows = [
        {
            "client_id": w.a_owner.client_id,
            "locale_id": w.a_locale,
            "asset_id": params["asset_id"],
            "from_status": AssetStatus.operational,
            "to_status": AssetStatus.down,
            "changed_at": now - timedelta(minutes=i),
            "changed_by_id": w.a_owner.id,
        }
        for i in range(3)
    ]
    _insert_rows(stage, AssetStatusChange, rows)


def _seed_ticket_history(stage: Stage, params: dict[str, Any]) -> None:
    w, now = stage.world, utcnow()
    rows = [
        {
            "client_id": w.a_owner.client_id,
            "locale_id": w.a_locale,
            "ticket_id": params["ticket_id"],
            "from_status": TicketStatus.open,
            "to_status": TicketStatus.open,
            "actor_id": actor.id,
            "comment": "visto",
            "created_at": now,
        }
        for actor in (w.a_owner, w.a_manager, w.a_technician)
    ]
    _insert_rows(stage, TicketHistory, rows)


def _seed_report_deliveries(stage: Stage, params: dict[str, Any]) -> None:
    w, now = stage.world, utcnow()
    rows = [
        {
            "client_id": w.a_owner.client_id,
            "schedule_id": params["schedule_id"],
            "period_start": date(2026, 1, day),
            "period_end": date(2026, 1, day),
            "outcome": "sent",
            "created_at": now,
        }
        for day in (5, 12, 19)
    ]
    _insert_rows(stage, ReportDelivery, rows)


def _seed_bom(stage: Stage, params: dict[str, Any]) -> None:
    w = stage.world
    assert w.a_owner.client_id is not None
    for _ in range(3):
        product = make_product(w.run, w.a_owner.client_id)
        make_bom_line(w.run, w.a_owner.client_id, w.a_locale, params["asset_id"], product)


def _seed_vendor_technicians(stage: Stage, params: dict[str, Any]) -> None:
    for _ in range(3):
        make_user(stage.client, stage.run, role=UserRole.technician, vendor_id=params["vendor_id"])


def _seed_client_users(stage: Stage, params: dict[str, Any]) -> None:
    w = stage.world
    assert w.a_owner.client_id is not None
    for role in (UserRole.client_member, UserRole.technician, UserRole.client_member):
        user = make_user(stage.client, stage.run, role=role, client_id=w.a_owner.client_id)
        if role is UserRole.client_member:
            add_member(stage.run, w.a_owner.client_id, w.a_locale, user.id, LocalRole.viewer)


def _seed_technicians(stage: Stage, params: dict[str, Any]) -> None:
    w = stage.world
    for _ in range(3):
        make_user(stage.client, stage.run, role=UserRole.technician, client_id=w.a_owner.client_id)


def _seed_releases(stage: Stage, params: dict[str, Any]) -> None:
    for _ in range(3):
        response = stage.client.post(
            f"{P}/app-versions",
            json={
                "platform": "android",
                "version": f"3.{next(SERIAL)}.0",
                "min_supported_version": "3.0.0",
            },
            headers=stage.staff.headers,
        )
        assert response.status_code == 201, response.text


def _seed_settings(stage: Stage, params: dict[str, Any]) -> None:
    for _ in range(3):
        response = stage.client.put(
            f"{P}/settings/budget.key{next(SERIAL)}",
            json={"value_type": "string", "value": "x"},
            headers=stage.staff.headers,
        )
        assert response.is_success, response.text


def _seed_audit(stage: Stage, params: dict[str, Any]) -> None:
    for i in range(3):
        response = stage.client.patch(
            f"{P}/locales/{stage.world.a_locale}",
            json={"name": f"A Centro {i}"},
            headers=stage.world.a_owner.headers,
        )
        assert response.status_code == 200, response.text


def _events(stage: Stage, count: int) -> list[Any]:
    """Dispatched events of A, for notifications and deliveries to point at."""
    w, now = stage.world, utcnow()
    ids = [uuid7() for _ in range(count)]

    async def create(session: AsyncSession) -> None:
        for event_id in ids:
            await session.execute(
                insert(Event).values(
                    id=event_id,
                    client_id=w.a_owner.client_id,
                    locale_id=w.a_locale,
                    type="sla.breached",
                    subject_type="ticket",
                    subject_id=uuid7(),
                    payload={"number": 1, "title": "A Falla"},
                    created_at=now,
                    dispatched_at=now,
                    attempts=0,
                )
            )

    stage.run(create)
    return ids


def _seed_notifications(stage: Stage, params: dict[str, Any]) -> None:
    w, now = stage.world, utcnow()
    rows = [
        {
            "user_id": w.a_owner.id,
            "client_id": w.a_owner.client_id,
            "event_id": event_id,
            "type": "sla.breached",
            "title": "A SLA breached",
            "body": "A Falla",
            "created_at": now,
            "email_state": EmailState.none,
            "email_attempts": 0,
        }
        for event_id in _events(stage, 3)
    ]
    _insert_rows(stage, Notification, rows)


def _seed_deliveries(stage: Stage, params: dict[str, Any]) -> None:
    w, now = stage.world, utcnow()
    rows = [
        {
            "client_id": w.a_owner.client_id,
            "subscription_id": params["webhook_id"],
            "event_id": event_id,
            "event_type": "sla.breached",
            "status": DeliveryStatus.dead,
            "attempts": 8,
            "next_attempt_at": now,
            "last_error": "HTTP 500",
            "created_at": now,
        }
        for event_id in _events(stage, 3)
    ]
    _insert_rows(stage, WebhookDelivery, rows)


def _seed_readings(stage: Stage, params: dict[str, Any]) -> None:
    now = utcnow()

    async def create(session: AsyncSession) -> None:
        await session.execute(
            insert(IoTReading),
            [
                {
                    "device_id": params["device_id"],
                    "metric": "temperature",
                    "value": 20.0 + i,
                    "device_time": now - timedelta(minutes=i + 1),
                    "received_at": now,
                }
                for i in range(3)
            ],
        )

    stage.run(create)


def _seed_sync(stage: Stage, params: dict[str, Any]) -> None:
    """Shifts of A's technician, added through the ORM so that the sync log records them."""
    w = stage.world
    start = datetime(2031, 1, 6, 8, tzinfo=UTC) + timedelta(days=30 * len(w.cache))
    w.cache[f"sync_seed_{len(w.cache)}"] = True

    async def create(session: AsyncSession) -> None:
        for day in range(3):
            session.add(
                TechnicianShift(
                    technician_id=w.a_technician.id,
                    client_id=w.a_technician.client_id,
                    shift_type=ShiftType.working,
                    starts_at=start + timedelta(days=day),
                    ends_at=start + timedelta(days=day, hours=8),
                )
            )

    stage.run(create)


SEEDERS: dict[Route, Seeder] = {
    ("GET", f"{P}/sync"): _seed_sync,
    ("GET", f"{P}/iot-devices/{{device_id}}/readings"): _seed_readings,
    ("GET", f"{P}/notifications"): _seed_notifications,
    ("GET", f"{P}/webhooks/{{webhook_id}}/deliveries"): _seed_deliveries,
    ("GET", f"{P}/assets/{{asset_id}}/status-history"): _seed_status_changes,
    ("GET", f"{P}/tickets/{{ticket_id}}/history"): _seed_ticket_history,
    ("GET", f"{P}/report-schedules/{{schedule_id}}/deliveries"): _seed_report_deliveries,
    ("GET", f"{P}/assets/{{asset_id}}/bom"): _seed_bom,
    ("GET", f"{P}/vendors/{{vendor_id}}/members"): _seed_vendor_technicians,
    ("GET", f"{P}/users"): _seed_client_users,
    ("GET", f"{P}/tickets/{{ticket_id}}/candidates"): _seed_technicians,
    ("GET", f"{P}/app-versions"): _seed_releases,
    ("GET", f"{P}/audit-logs"): _seed_audit,
    ("GET", f"{P}/settings"): _seed_settings,
}

# Collections whose rows the caller cannot add, with the reason.
NOT_ROW_LISTS: dict[Route, str] = {
    ("GET", f"{P}/plan-limits"): "one fixed row per subscription plan",
}


# --- public routes -------------------------------------------------------------------------------

PublicCall = Callable[[Stage], tuple[str, dict[str, Any]]]


def _qr_code(stage: Stage) -> str:
    asset_id = asset_objects(stage.world)["asset"]
    response = stage.client.get(f"{P}/assets/{asset_id}", headers=stage.world.a_owner.headers)
    assert response.status_code == 200, response.text
    code: str = response.json()["qr_code"]
    return code


def _otp_verify(stage: Stage) -> tuple[str, dict[str, Any]]:
    email = stage.world.a_owner.email
    response = stage.client.post(f"{P}/auth/otp/request", json={"email": email})
    assert response.status_code == 202, response.text
    message = stage.client.app.state.kerops.sender.last_to(email)  # type: ignore[attr-defined]
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    code = match.group(1)
    return f"{P}/auth/otp/verify", {"json": {"email": email, "code": code}}


def _accept_invitation(stage: Stage) -> tuple[str, dict[str, Any]]:
    email = unique_email("invited")
    response = stage.client.post(
        f"{P}/users/invite",
        json={"email": email, "full_name": "Invitada", "role": "technician"},
        headers=stage.world.a_owner.headers,
    )
    assert response.status_code == 201, response.text
    token = invitation_token(stage.client, email)
    return f"{P}/users/invitations/accept", {"json": {"token": token, "password": PASSWORD}}


def _device_readings(stage: Stage) -> tuple[str, dict[str, Any]]:
    """A batch of 20 readings from A's device, with a credential issued for it."""
    device_id = asset_objects(stage.world)["device"]
    response = stage.client.post(
        f"{P}/iot-devices/{device_id}/rotate-credential", headers=stage.world.a_owner.headers
    )
    assert response.status_code == 200, response.text
    readings = [{"metric": "temperature", "value": 20 + i / 10} for i in range(20)]
    return f"{P}/iot/readings", {
        "json": {"readings": readings},
        "headers": {"X-Device-Key": response.json()["credential"]},
    }


def _credentials(stage: Stage) -> dict[str, str]:
    return {"email": stage.world.a_owner.email, "password": PASSWORD}


PUBLIC_CALLS: dict[Route, PublicCall] = {
    ("GET", "/"): lambda s: ("/", {"headers": {"Accept-Language": "en"}}),
    ("GET", f"{P}/health"): lambda s: (f"{P}/health", {}),
    ("GET", f"{P}/ready"): lambda s: (f"{P}/ready", {}),
    ("POST", f"{P}/auth/register"): lambda s: (
        f"{P}/auth/register",
        {"json": {"email": unique_email("owner"), "password": PASSWORD, "full_name": "Nueva"}},
    ),
    ("POST", f"{P}/auth/login"): lambda s: (f"{P}/auth/login", {"json": _credentials(s)}),
    ("POST", f"{P}/auth/token"): lambda s: (
        f"{P}/auth/token",
        {"data": {"username": s.world.a_owner.email, "password": PASSWORD}},
    ),
    ("POST", f"{P}/auth/refresh"): lambda s: (
        f"{P}/auth/refresh",
        {"json": {"refresh_token": s.world.a_owner.tokens["refresh_token"]}},
    ),
    ("POST", f"{P}/auth/otp/request"): lambda s: (
        f"{P}/auth/otp/request",
        {"json": {"email": s.world.a_owner.email}},
    ),
    ("POST", f"{P}/auth/otp/verify"): _otp_verify,
    ("POST", f"{P}/users/invitations/accept"): _accept_invitation,
    ("GET", f"{P}/scan/{{code}}"): lambda s: (f"{P}/scan/{_qr_code(s)}", {}),
    ("POST", f"{P}/scan/{{code}}"): lambda s: (
        f"{P}/scan/{_qr_code(s)}",
        {
            "json": {
                "reporter_name": "Guardia",
                "reporter_contact": "guardia@example.cl",
                "description": "Gotea",
            }
        },
    ),
    ("POST", f"{P}/scan/{{code}}/photo-report"): lambda s: (
        f"{P}/scan/{_qr_code(s)}/photo-report",
        {
            "data": {
                "reporter_name": "Guardia",
                "reporter_contact": "guardia@example.cl",
                "description": "Gotea",
            },
            "files": {"photo": ("fuga.png", files.png(), "image/png")},
        },
    ),
    # 20 readings: a query per reading would break the write budget.
    ("POST", f"{P}/iot/readings"): _device_readings,
    ("GET", f"{P}/app-versions/check"): lambda s: (
        f"{P}/app-versions/check",
        {"params": {"platform": "android", "version": "1.0.0"}},
    ),
}

# Public routes not called here, with the reason.
PUBLIC_CALLS[("GET", f"{P}/report-files/{{token}}")] = lambda s: (
    s.client.get(f"{P}/reports/{a_report(s.world)}/link", headers=s.world.a_owner.headers).json()[
        "url"
    ],
    {},
)

PUBLIC_NOT_CALLED: dict[Route, str] = {
    ("GET", f"{P}/auth/sso/{{slug}}/login"): (
        "needs a live OpenID provider (tests/auth/test_sso.py runs one)"
    ),
    ("GET", f"{P}/auth/sso/{{slug}}/callback"): (
        "needs a live OpenID provider (tests/auth/test_sso.py runs one)"
    ),
}

# --- the routes ----------------------------------------------------------------------------------

# Rate limits out of the way of hundreds of logins from one address; the jobs a request queues
# run before it answers (their statements are told apart and not counted), and no periodic job
# runs while a request is counted.
APP_SETTINGS: dict[str, Any] = {
    "jobs_inline": True,
    "embedded_scheduler": False,
    "login_rate_limit": "100000/minute",
    "login_ip_rate_limit": "100000/minute",
    "otp_rate_limit": "100000/minute",
    "otp_ip_rate_limit": "100000/minute",
    "public_rate_limit": "100000/minute",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _openapi() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        document: dict[str, Any] = create_app(make_settings(Path(folder), None)).openapi()
        return document


OPENAPI = _openapi()
ROUTES: list[Route] = sorted(
    (method.upper(), path)
    for path, operations in OPENAPI["paths"].items()
    for method in operations
    if method.upper() in {"GET", *WRITE_METHODS}
)


def _is_paged(route: Route) -> bool:
    parameters = OPENAPI["paths"][route[1]][route[0].lower()].get("parameters", [])
    return any(p["in"] == "query" and p["name"] == "limit" for p in parameters)


def _label(route: Route) -> str:
    return f"{route[0]} {route[1]}"


def _budget(route: Route) -> int:
    default = DEFAULT_READ_BUDGET if route[0] == "GET" else DEFAULT_WRITE_BUDGET
    return BUDGETS.get(route, default)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Routes called in a database of their own run with the module's settings too."""
    return dict(APP_SETTINGS)


@pytest.fixture(scope="module")
def shared(
    template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Runner, Recorder, Account]]:
    """One app over one fresh database for the module, and a platform staff account."""
    data_dir = tmp_path_factory.mktemp("budgets")
    with fresh_database(template_database, data_dir) as url:
        app = create_app(make_settings(data_dir, url, **APP_SETTINGS))
        with TestClient(app) as client:
            run = run_in_app(client)
            yield client, run, Recorder.on(client), make_staff(client, run)


@pytest.fixture(scope="module")
def read_world(shared: tuple[TestClient, Runner, Recorder, Account]) -> World:
    """The world every read route is called in."""
    client, run, _, _ = shared
    return build_world(client, run)


def _stage(route: Route, request: pytest.FixtureRequest) -> Stage:
    if route in OWN_DATABASE:
        client: TestClient = request.getfixturevalue("client")
        run: Runner = request.getfixturevalue("run")
        recorder = Recorder.on(client)
        return Stage(client, run, recorder, build_world(client, run), make_staff(client, run))
    client, run, recorder, staff = request.getfixturevalue("shared")
    if route[0] == "GET":
        world: World = request.getfixturevalue("read_world")
    else:
        world = build_world(client, run)
    return Stage(client, run, recorder, world, staff)


# --- calling a route -----------------------------------------------------------------------------


@dataclass
class Call:
    """One request, built before counting (building may create A's objects)."""

    method: str
    url: str
    kwargs: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)


def _fill(path: str, params: dict[str, Any]) -> str:
    for name, value in params.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"{path}: the case gives no value for a path parameter"
    return path


def _build(stage: Stage, route: Route, case: Case, actor: Account) -> Call:
    method, path = route
    world = stage.world
    params = case.params(world)
    kwargs: dict[str, Any] = {"headers": actor.headers}
    if case.query is not None:
        kwargs["params"] = case.query(world)
    if case.body is not None and method in WRITE_METHODS:
        kwargs["json"] = case.body(world)
    if route in UPLOADS:
        kwargs.update(UPLOADS[route](world))
    elif case.files is not None:
        kwargs.update(files=case.files(world), data=case.form or {})
    return Call(method, _fill(path, params), kwargs, params)


def _send(stage: Stage, call: Call, **query: Any) -> tuple[Response, list[str]]:
    kwargs = dict(call.kwargs)
    if query:
        kwargs["params"] = {**kwargs.get("params", {}), **query}
    with stage.recorder as recorded:
        response = stage.client.request(call.method, call.url, **kwargs)
    return response, recorded.statements


def _items(response: Response) -> list[Any] | None:
    """The rows of a collection's answer (a list, or an object with ``items``); else None."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    body = response.json()
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        items: list[Any] = body["items"]
        return items
    return None


def _actor(stage: Stage, route: Route) -> Account:
    return stage.staff if route in STAFF_ONLY else stage.world.a_owner


def _case(route: Route) -> Case | None:
    return OWNER_CASES.get(route) or CASES.get(route)


def _seed(stage: Stage, route: Route, call: Call) -> None:
    """Add rows to a collection: its seeder, else its create route (same path), up to thrice."""
    if route in SEEDERS:
        SEEDERS[route](stage, call.params)
        return
    create = ("POST", route[1])
    case = _case(create)
    if case is None:
        return
    for _ in range(3):
        request = _build(stage, create, case, _actor(stage, create))
        if not stage.client.request(request.method, request.url, **request.kwargs).is_success:
            return


def _over_budget(route: Route, statements: list[str]) -> str:
    listing = "\n".join(f"  {i + 1}. {s.strip()[:160]}" for i, s in enumerate(statements))
    return (
        f"{_label(route)}: {len(statements)} statements, budget {_budget(route)} (raise it in "
        f"BUDGETS with the reason, or make the route cheaper):\n{listing}"
    )


def _check(stage: Stage, route: Route, call: Call, who: str) -> Response:
    response, statements = _send(stage, call)
    assert response.is_success, (
        f"{_label(route)} as {who}: {response.status_code} {response.text[:300]}"
    )
    assert len(statements) <= _budget(route), _over_budget(route, statements)
    assert not stage.recorder.uncached, (
        f"{_label(route)}: statements SQLAlchemy cannot cache (compiled on every call): "
        f"{stage.recorder.uncached}"
    )
    return response


@pytest.mark.parametrize("route", ROUTES, ids=_label)
def test_route_stays_within_its_query_budget(route: Route, request: pytest.FixtureRequest) -> None:
    if route in PUBLIC:
        if route in PUBLIC_NOT_CALLED:
            pytest.skip(PUBLIC_NOT_CALLED[route])
        assert route in PUBLIC_CALLS, (
            f"public route {_label(route)} has no call in PUBLIC_CALLS (nor a reason in "
            "PUBLIC_NOT_CALLED)"
        )
        stage = _stage(route, request)
        url, kwargs = PUBLIC_CALLS[route](stage)
        _check(stage, route, Call(route[0], url, kwargs), "anyone")
        return
    case = _case(route)
    assert case is not None, (
        f"{_label(route)} has no isolation case: add one to a tests/<domain>/isolation_cases*.py "
        "(CASES, or PUBLIC with a reason); this test aims the route with it"
    )
    stage = _stage(route, request)
    call = _build(stage, route, case, _actor(stage, route))
    who = "platform staff" if route in STAFF_ONLY else "A's owner"
    response = _check(stage, route, call, who)
    if route[0] == "GET" and _items(response) is not None and route not in NOT_ROW_LISTS:
        _check_no_query_per_row(stage, route, call)


def _measure(stage: Stage, call: Call, **query: Any) -> tuple[int, int]:
    """Statements and rows of one call."""
    response, statements = _send(stage, call, **query)
    assert response.is_success, response.text[:300]
    return len(statements), len(_items(response) or [])


def _check_no_query_per_row(stage: Stage, route: Route, call: Call) -> None:
    before, rows_before = _measure(stage, call)
    if rows_before == 0:
        _seed(stage, route, call)
        before, rows_before = _measure(stage, call)
    _seed(stage, route, call)
    after, rows_after = _measure(stage, call)
    grew = rows_before >= 1 and rows_after > rows_before
    if grew:
        assert after == before, (
            f"{_label(route)}: {before} statements for {rows_before} rows, {after} for "
            f"{rows_after}: a query per row"
        )
    paged = _is_paged(route) and rows_after >= 2
    if paged:
        one, one_rows = _measure(stage, call, limit=1)
        every, every_rows = _measure(stage, call, limit=rows_after)
        assert one_rows == 1 and every_rows == rows_after, (one_rows, every_rows)
        assert one == every, (
            f"{_label(route)}: {one} statements for a page of 1, {every} for a page of "
            f"{rows_after}: a query per row"
        )
    assert grew or paged, (
        f"{_label(route)}: cannot show that its statements do not grow with rows ({rows_before} "
        f"rows, {rows_after} after seeding): add a seeder to SEEDERS, or a reason to NOT_ROW_LISTS"
    )


def test_budget_tables_name_existing_routes() -> None:
    tables: dict[str, Any] = {
        "BUDGETS": BUDGETS,
        "STAFF_ONLY": STAFF_ONLY,
        "OWN_DATABASE": OWN_DATABASE,
        "OWNER_CASES": OWNER_CASES,
        "SEEDERS": SEEDERS,
        "NOT_ROW_LISTS": NOT_ROW_LISTS,
        "PUBLIC_CALLS": PUBLIC_CALLS,
        "PUBLIC_NOT_CALLED": PUBLIC_NOT_CALLED,
    }
    stale = [
        (name, route) for name, table in tables.items() for route in table if route not in ROUTES
    ]
    assert not stale, f"entries for routes that do not exist: {stale}"


# --- sorts of the lists --------------------------------------------------------------------------


def _sort_parameter(route: Route) -> dict[str, Any] | None:
    parameters = OPENAPI["paths"][route[1]][route[0].lower()].get("parameters", [])
    return next((p for p in parameters if p["in"] == "query" and p["name"] == "sort"), None)


SORTED_ROUTES = [route for route in ROUTES if _sort_parameter(route) is not None]


def test_every_list_declares_its_sorts_as_an_enum() -> None:
    assert len(SORTED_ROUTES) >= 30  # every list paged by kerops.core.pagination
    for route in SORTED_ROUTES:
        parameter = _sort_parameter(route)
        assert parameter is not None
        (choice,) = [s for s in parameter["schema"]["anyOf"] if s.get("type") == "string"]
        fields = [value for value in choice.get("enum", []) if not value.startswith("-")]
        # Each field of the whitelist, then its descending form.
        assert fields and choice["enum"] == [v for f in fields for v in (f, f"-{f}")], (
            f"{_label(route)}: sort is not an enum of the whitelist (sorted_by): {choice}"
        )


@pytest.mark.parametrize("route", SORTED_ROUTES, ids=_label)
def test_every_sort_in_a_lists_enum_is_answered_and_any_other_is_a_422(
    route: Route, request: pytest.FixtureRequest
) -> None:
    # The enum of the OpenAPI document is the whitelist the list sorts by: each value answers
    # (paginate refuses a sort outside its whitelist), and FastAPI refuses every other one.
    parameter = _sort_parameter(route)
    assert parameter is not None
    (choice,) = [s for s in parameter["schema"]["anyOf"] if s.get("type") == "string"]
    stage = _stage(route, request)
    case = _case(route)
    assert case is not None
    call = _build(stage, route, case, _actor(stage, route))
    for value in choice["enum"]:
        response, _ = _send(stage, call, sort=value)
        assert response.is_success, f"{_label(route)} sort={value}: {response.text[:300]}"
    for value in ("title", f"{choice['enum'][0]}x", f"--{choice['enum'][0]}", ""):
        response, _ = _send(stage, call, sort=value)
        assert response.status_code == 422, f"{_label(route)} sort={value!r}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "validation_error"
        assert [(e["loc"], e["type"]) for e in body["errors"]] == [
            (["query", "sort"], "literal_error")
        ]


@pytest.mark.parametrize("page", sorted(PAGES), ids=_label)
def test_the_pages_outside_the_schema_send_no_statement(
    page: Route, request: pytest.FixtureRequest
) -> None:
    # The docs pages and their files come from the package: none touches the database.
    client, _, recorder, _ = request.getfixturevalue("shared")
    url = page[1].replace("{name}", "swagger-ui-bundle.js")
    with recorder as recorded:
        response = client.request(page[0], url)
    assert response.status_code == 200, response.text[:300]
    assert recorded.statements == [], recorded.statements


#: The pages outside the schema that read a client's data (the scan pages of QR codes), with the
#: statements each may send (SQLite's count, its BEGIN included).
DATA_PAGE_BUDGETS: dict[Route, int] = {
    # The asset with its locale, area and open tickets, in one query.
    ("GET", "/scan/{code}"): 2,
    # The report's ticket and photo as the JSON photo report writes them (16: its number, SLA
    # policy, history, attachment, their audit rows, event, jobs outbox), and its follow-up link
    # with its audit row, and the sync log's row of the new ticket.
    ("POST", "/scan/{code}"): 19,
    # The ticket with its asset, locale and link in one query, then its public steps.
    ("GET", "/follow-up/{token}"): 3,
}


def test_every_data_page_has_a_budget() -> None:
    assert set(DATA_PAGE_BUDGETS) == set(DATA_PAGES)


def test_the_data_pages_keep_their_budgets(request: pytest.FixtureRequest) -> None:
    client, run, recorder, _ = request.getfixturevalue("shared")
    world = build_world(client, run)
    stage = Stage(client, run, recorder, world, world.a_owner)
    code = _qr_code(stage)
    with recorder as recorded:
        page = client.get(f"/scan/{code}")
    assert page.status_code == 200
    assert len(recorded.statements) <= DATA_PAGE_BUDGETS["GET", "/scan/{code}"], recorded.statements
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    with recorder as recorded:
        sent = client.post(
            f"/scan/{code}",
            data={"description": "Gotea", "csrf_token": token.group(1)},
            files={"photo": ("fuga.png", files.png(), "image/png")},
            follow_redirects=False,
        )
    assert sent.status_code == 303, sent.text
    assert len(recorded.statements) <= DATA_PAGE_BUDGETS["POST", "/scan/{code}"], (
        recorded.statements
    )
    with recorder as recorded:
        follow = client.get(sent.headers["location"])
    assert follow.status_code == 200
    assert len(recorded.statements) <= DATA_PAGE_BUDGETS["GET", "/follow-up/{token}"], (
        recorded.statements
    )
