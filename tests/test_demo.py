"""The demo data is made by the domain services, so it keeps every rule a request keeps."""

from __future__ import annotations

import ast
import inspect
import itertools
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops import demo, demo_history
from kerops.assets.models import Asset, AssetBOM, AssetMaintenancePlan, PlanOccurrence
from kerops.audit.models import AuditLog
from kerops.core.enums import SubscriptionPlan, TicketStatus
from kerops.core.errors import PlanLimitExceeded
from kerops.core.types import utcnow
from kerops.events.models import Event
from kerops.inventory import ledger
from kerops.inventory.models import InventoryMovement, Product
from kerops.iot.models import IoTDevice, IoTRule
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket, TicketCounter, TicketHistory
from kerops.parts import service as parts_service
from kerops.system.models import PlanLimit
from kerops.tenancy.models import Locale
from kerops.users.models import User
from kerops.workforce.models import TechnicianCertification, TechnicianShift

Run = Callable[[Callable[[AsyncSession], Any]], Any]


def _load(client: TestClient, run: Run) -> bool:
    state = client.app.state.kerops  # type: ignore[attr-defined]

    async def load(session: AsyncSession) -> bool:
        return await demo.load_demo(session, state)

    return bool(run(load))


async def _count(session: AsyncSession, model: type[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


COUNTED = (User, Locale, Asset, Product, AssetBOM, AssetMaintenancePlan, IoTDevice, IoTRule)
COUNTED_TOO = (
    TechnicianShift,
    TechnicianCertification,
    ServiceTicket,
    TicketHistory,
    AuditLog,
    PlanOccurrence,
)


#: The hand-written demo tickets (the history's come before them).
DEMO_TITLES = [title for _, title, *_ in demo.DEMO_TICKETS]


async def _counts(session: AsyncSession) -> dict[str, int]:
    return {model.__name__: await _count(session, model) for model in COUNTED + COUNTED_TOO}


def test_demo_holds_what_the_readme_promises(client: TestClient, run: Run) -> None:
    assert _load(client, run) is True
    counts = run(_counts)
    assert {k: counts[k] for k in ("User", "Locale", "Asset", "Product", "IoTDevice")} == {
        "User": 6,
        "Locale": 2,
        "Asset": 20,
        "Product": 5,
        "IoTDevice": 3,
    }
    assert counts["AssetMaintenancePlan"] == 3
    # The eight tickets of the last fortnight, and six months of history before them: the
    # corrective tickets and one ticket per past occurrence of the two calendar plans.
    corrective = sum(count for _, count, *_ in demo_history.FAILURES)
    assert counts["ServiceTicket"] == 8 + corrective + counts["PlanOccurrence"]
    assert 6 <= counts["PlanOccurrence"] <= 9
    # This week's five shifts, and the technician's working weeks of the history.
    assert counts["TechnicianShift"] > 5 + 100 and counts["TechnicianCertification"] == 2
    assert counts["IoTRule"] == 2

    async def statuses(session: AsyncSession) -> list[str]:
        return list((await session.execute(select(Asset.status))).scalars())

    assert run(statuses).count("down") == 1


def test_demo_history_holds_six_months_a_manager_would_recognise(
    client: TestClient, run: Run
) -> None:
    _load(client, run)

    async def check(session: AsyncSession) -> None:
        now = utcnow()
        past = now - timedelta(days=demo_history.QUIET_DAYS)
        tickets = list(
            (await session.execute(select(ServiceTicket).where(ServiceTicket.created_at < past)))
            .scalars()
            .all()
        )
        assert min(t.created_at for t in tickets) < now - timedelta(days=170)
        # Exactly two breaches: one late response, one late resolution.
        assert sum(t.sla_response_breached for t in tickets) == 1
        assert sum(t.sla_resolution_breached for t in tickets) == 1
        # Failures cluster on the old chiller.
        assets = {a.id: a.name for a in (await session.execute(select(Asset))).scalars()}
        corrective = [t for t in tickets if t.source == "manual"]
        per_asset = Counter(assets[t.asset_id] for t in corrective if t.asset_id)
        assert per_asset.most_common(1)[0][0] == demo_history.OLD_CHILLER
        statuses = Counter(t.status for t in tickets)
        assert statuses[TicketStatus.cancelled] == 2 and statuses[TicketStatus.waiting_parts] == 3
        reopened = (
            await session.execute(
                select(func.count(func.distinct(TicketHistory.ticket_id))).where(
                    TicketHistory.to_status == TicketStatus.reopened
                )
            )
        ).scalar_one()
        assert reopened == 1
        # Each past occurrence has its plan's ticket; all but one done by its due time.
        occurrences = (await session.execute(select(PlanOccurrence))).scalars().all()
        by_id = {t.id: t for t in tickets}
        done = [by_id[o.ticket_id].completed_at for o in occurrences if o.ticket_id in by_id]
        assert len(done) == len(occurrences)
        late = [o for o in occurrences if by_id[o.ticket_id].completed_at > o.due_at]
        assert len(late) == 1
        # Labour is the sum of the logged time at the technician's rate.
        logs = (await session.execute(select(TicketWorkLog))).scalars().all()
        per_ticket: Counter[uuid.UUID] = Counter()
        for log in logs:
            assert log.cost_minor == (log.minutes * log.hourly_rate_minor + 30) // 60
            per_ticket[log.ticket_id] += log.cost_minor
        assert all(t.labour_cost_minor == per_ticket[t.id] for t in tickets)
        assert sum(per_ticket.values()) > 0

    run(check)


def test_demo_tickets_are_numbered_by_the_counter_with_a_history_row_per_move(
    client: TestClient, run: Run
) -> None:
    _load(client, run)

    async def check(session: AsyncSession) -> None:
        tickets = (
            await session.execute(select(ServiceTicket).order_by(ServiceTicket.number))
        ).scalars()
        tickets = list(tickets)
        assert [t.number for t in tickets] == list(range(1, len(tickets) + 1))
        counter = (await session.execute(select(TicketCounter.last_number))).scalar_one()
        assert counter == len(tickets)
        assert {t.status for t in tickets} >= {TicketStatus.open, TicketStatus.completed}
        for ticket in tickets:
            moves = (
                await session.execute(
                    select(TicketHistory)
                    .where(TicketHistory.ticket_id == ticket.id)
                    .order_by(TicketHistory.created_at)
                )
            ).scalars()
            moves = list(moves)
            assert moves[0].from_status is None and moves[0].to_status is TicketStatus.open
            for before, after in itertools.pairwise(moves):
                assert after.from_status == before.to_status
                # Only a plan's own assignment of its ticket has no person behind it.
                assert after.actor_id is not None or ticket.source == "plan"
                assert after.created_at > before.created_at
            assert moves[-1].to_status == ticket.status
            assert (
                ticket.created_at == moves[0].created_at
                and ticket.updated_at == moves[-1].created_at
            )
            assert ticket.sla_response_due_at is not None  # the client's SLA policy applied
            if ticket.status is TicketStatus.completed:
                assert ticket.completed_at == moves[-1].created_at

    run(check)


def test_demo_creations_are_audited_as_their_makers_and_emit_events(
    client: TestClient, run: Run
) -> None:
    _load(client, run)

    async def check(session: AsyncSession) -> None:
        people = {
            email: id_ for email, id_ in (await session.execute(select(User.email, User.id))).all()
        }
        owner_id, requester_id = people["owner@acme.demo"], people["requester@acme.demo"]
        inserts = (
            await session.execute(
                select(AuditLog.table_name, AuditLog.actor_user_id).where(
                    AuditLog.action == "create"
                )
            )
        ).all()
        asset_actors = {actor for table, actor in inserts if table == "assets"}
        assert asset_actors == {owner_id}
        ticket_actors = {actor for table, actor in inserts if table == "service_tickets"}
        # Viña has no requester; the history's plan tickets were raised by the PM job (no one).
        assert ticket_actors == {requester_id, owner_id, None}
        audited = {table for table, _ in inserts}
        assert {"locales", "local_areas", "assets", "products", "service_tickets"} <= audited
        assert {"ticket_history", "technician_shifts", "iot_devices", "users"} <= audited
        created = (
            await session.execute(
                select(func.count()).select_from(Event).where(Event.type == "ticket.created")
            )
        ).scalar_one()
        assert created == 8

    run(check)


def test_demo_keeps_the_plan_limits(client: TestClient, run: Run) -> None:
    async def shrink(session: AsyncSession) -> None:
        await session.execute(
            update(PlanLimit).where(PlanLimit.plan == SubscriptionPlan.pro).values(max_assets=19)
        )

    run(shrink)
    with pytest.raises(PlanLimitExceeded):
        _load(client, run)
    assert run(lambda session: _count(session, Asset)) == 0


def test_the_completed_tickets_parts_cost_comes_from_the_ledger(
    client: TestClient, run: Run
) -> None:
    _load(client, run)

    async def check(session: AsyncSession) -> None:
        completed = (
            await session.execute(
                select(ServiceTicket).where(
                    ServiceTicket.status == TicketStatus.completed,
                    # The history's parts costs were typed: its stores were kept elsewhere then.
                    ServiceTicket.title.in_(DEMO_TITLES),
                )
            )
        ).scalars()
        for ticket in completed:
            used = await session.execute(
                select(InventoryMovement.quantity, InventoryMovement.unit_cost_minor).where(
                    InventoryMovement.document_id == ticket.id
                )
            )
            value = sum(parts_service.movement_value(int(q * 1000), c) for q, c in used)
            assert ticket.parts_cost_minor == value > 0
        assert await ledger.verify(session) == []

    run(check)


def test_the_completed_tickets_labour_cost_comes_from_their_work_logs(
    client: TestClient, run: Run
) -> None:
    _load(client, run)

    async def check(session: AsyncSession) -> dict[str, tuple[int, int]]:
        completed = (
            await session.execute(
                select(ServiceTicket).where(
                    ServiceTicket.status == TicketStatus.completed,
                    ServiceTicket.title.in_(DEMO_TITLES),
                )
            )
        ).scalars()
        found = {}
        for ticket in completed:
            logs = await session.execute(
                select(TicketWorkLog.cost_minor).where(TicketWorkLog.ticket_id == ticket.id)
            )
            found[ticket.title] = (ticket.labour_cost_minor, sum(logs.scalars()))
        return found

    # 30 minutes of travel at $12.000 an hour, and 90 (or 120) of work at $18.000.
    assert run(check) == {
        "Hielo en evaporador": (33_000, 33_000),
        "Cambio de interruptor dañado": (42_000, 42_000),
    }


def test_a_second_load_adds_nothing(client: TestClient, run: Run) -> None:
    _load(client, run)
    first = run(_counts)
    assert _load(client, run) is False
    assert run(_counts) == first


#: Where demo.py may build an ORM object itself, and why: no service creates the platform's
#: first staff account (``kerops create-admin`` adds its row the same way).
BUILT_BY_HAND = {"_platform_admin": {"User"}}


def test_demo_builds_no_rows_by_hand_but_the_listed_ones() -> None:
    tree = ast.parse(inspect.getsource(demo))
    models = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(".models")
        for alias in node.names
    }
    found: dict[str, set[str]] = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if isinstance(callee, ast.Name) and callee.id in models:
                found.setdefault(function.name, set()).add(callee.id)
            if isinstance(callee, ast.Attribute) and callee.attr in {"add", "add_all", "merge"}:
                found.setdefault(function.name, set()).add(f"session.{callee.attr}")
    allowed = {name: {*kinds, "session.add"} for name, kinds in BUILT_BY_HAND.items()}
    assert found == {name: kinds for name, kinds in allowed.items() if name in found}
    assert "User" in found.get("_platform_admin", set())  # the check sees model calls at all
