"""Child rows follow their parent (``access.follows``): whoever may read the parent reads its
children, whoever may change it changes them (a ticket's readers also add to its details), and
a child of a parent out of reach is not found, by its own id as in a list. The rule reads the
parent, never the child's own copies of its client or locale, and composes (a plan's
occurrences follow the plan, which follows its asset). And every model that hangs off a scoped
one has a rule, so a new module cannot forget one."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets.models import (
    Asset,
    AssetBOM,
    AssetMaintenancePlan,
    AssetStatusChange,
    PlanOccurrence,
)
from kerops.core import access
from kerops.core.enums import (
    AssetStatus,
    MovementDocument,
    MovementKind,
    ReportFrequency,
    TicketStatus,
    UserRole,
    WarehouseKind,
)
from kerops.core.errors import Forbidden, NotFound
from kerops.core.models import Base
from kerops.core.principal import Principal
from kerops.core.types import utcnow, uuid7
from kerops.events.models import Event
from kerops.inventory.models import (
    InventoryMovement,
    InventoryStock,
    StockCount,
    StockCountLine,
    Warehouse,
)
from kerops.iot.models import IoTDevice, IoTReading, IoTRule
from kerops.labour.models import TicketWorkLog
from kerops.notifications.models import (
    CertificationReminder,
    WebhookDelivery,
    WebhookSubscription,
)
from kerops.operations.models import (
    ScanFollowLink,
    ServiceTicket,
    TicketAttachment,
    TicketComment,
    TicketHistory,
    TicketTask,
    Workflow,
    WorkflowStep,
)
from kerops.parts.models import StockReservation
from kerops.purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine
from kerops.reports.models import ReportDelivery, ReportSchedule
from kerops.users.models import Vendor
from kerops.workforce.models import TechnicianCertification
from tests.fixtures.assets import make_asset, make_device, make_product, make_ticket
from tests.fixtures.factories import Account, Runner, make_user, register_owner
from tests.fixtures.operations import add_certification
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"


def principal(account: Account) -> Principal:
    """The principal the app builds for ``account`` (an interactive login)."""
    return Principal(
        user_id=account.id,
        role=account.role,
        client_id=account.client_id,
        vendor_id=account.vendor_id,
    )


def _insert(run: Runner, model: Any, **values: Any) -> Any:
    """Insert a row (Core, no audit) and return its id."""

    async def create(session: AsyncSession) -> Any:
        if "id" in model.__table__.c and model.__table__.c.id.autoincrement is not True:
            values.setdefault("id", uuid7())
        result = await session.execute(insert(model).values(**values).returning(model.id))
        return result.scalar_one()

    return run(create)


def _set(run: Runner, model: Any, object_id: Any, **values: Any) -> None:
    async def change(session: AsyncSession) -> None:
        await session.execute(update(model).where(model.id == object_id).values(**values))

    run(change)


@dataclass
class World:
    """Client A (a team), client B's owner, and the ids the kinds made."""

    team: Team
    other: Account
    technician: Account


@dataclass
class Family:
    """A parent, one of its children, and the roles around them."""

    parent: tuple[type[Base], Any]
    child: Any
    #: Reads the parent, may not change it (None: nobody but the writer reads it).
    reader: Account | None
    #: Changes the parent.
    writer: Account
    #: Cannot see the parent.
    outsider: Account
    #: Moves the parent (or an ancestor) from the writer's and reader's reach to the outsider's.
    move: Callable[[], None]


def _asset_move(run: Runner, w: World, asset_id: uuid.UUID) -> Callable[[], None]:
    return lambda: _set(run, Asset, asset_id, locale_id=w.team.locale2)


def _asset(run: Runner, w: World) -> uuid.UUID:
    return make_asset(run, w.team.client_id, w.team.locale1)


def _asset_child(model: Any, **values: Any) -> Callable[[Runner, World], Family]:
    def make(run: Runner, w: World) -> Family:
        asset_id = _asset(run, w)
        child = _insert(
            run,
            model,
            client_id=w.team.client_id,
            locale_id=w.team.locale1,
            asset_id=asset_id,
            **values,
        )
        t = w.team
        return Family(
            (Asset, asset_id), child, t.viewer, t.manager, t.manager2, _asset_move(run, w, asset_id)
        )

    return make


def _bom_line(run: Runner, w: World) -> Family:
    product = make_product(run, w.team.client_id)
    return _asset_child(AssetBOM, product_id=product)(run, w)


def _plan_occurrence(run: Runner, w: World) -> Family:
    # A grandchild: the occurrence follows its plan, which follows its asset.
    asset_id = _asset(run, w)
    scope = {"client_id": w.team.client_id, "locale_id": w.team.locale1}
    plan_id = _insert(run, AssetMaintenancePlan, asset_id=asset_id, name="Revisión", **scope)
    child = _insert(run, PlanOccurrence, plan_id=plan_id, occurrence_key="date:x", **scope)
    t = w.team
    return Family(
        (AssetMaintenancePlan, plan_id),
        child,
        t.viewer,
        t.manager,
        t.manager2,
        _asset_move(run, w, asset_id),
    )


def _ticket_child(model: Any, **values: Any) -> Callable[[Runner, World], Family]:
    def make(run: Runner, w: World) -> Family:
        t = w.team
        ticket_id = make_ticket(run, t.client_id, t.locale1, None)
        child = _insert(
            run, model, client_id=t.client_id, locale_id=t.locale1, ticket_id=ticket_id, **values
        )

        def move() -> None:
            _set(run, ServiceTicket, ticket_id, locale_id=t.locale2)

        return Family((ServiceTicket, ticket_id), child, t.viewer, t.manager, t.manager2, move)

    return make


def _follow_link(run: Runner, w: World) -> Family:
    t = w.team
    ticket_id = make_ticket(run, t.client_id, t.locale1, None)
    child = _insert(
        run,
        ScanFollowLink,
        client_id=t.client_id,
        ticket_id=ticket_id,
        token_hash=secrets.token_hex(32),
        language="es-CL",
    )

    def move() -> None:
        _set(run, ServiceTicket, ticket_id, locale_id=t.locale2)

    return Family((ServiceTicket, ticket_id), child, t.viewer, t.manager, t.manager2, move)


def _device_child(model: Any, **values: Any) -> Callable[[Runner, World], Family]:
    def make(run: Runner, w: World) -> Family:
        t = w.team
        device_id = make_device(run, t.client_id, t.locale1, _asset(run, w))
        if model is IoTRule:
            values["client_id"] = t.client_id
        child = _insert(run, model, device_id=device_id, **values)

        def move() -> None:
            _set(run, IoTDevice, device_id, locale_id=t.locale2)

        return Family((IoTDevice, device_id), child, t.viewer, t.manager, t.manager2, move)

    return make


def _workflow_step(run: Runner, w: World) -> Family:
    t = w.team
    workflow_id = _insert(run, Workflow, client_id=t.client_id, name=secrets.token_hex(6))
    child = _insert(
        run,
        WorkflowStep,
        client_id=t.client_id,
        workflow_id=workflow_id,
        from_status=TicketStatus.open,
        to_status=TicketStatus.cancelled,
        allowed_roles=["owner"],
    )

    def move() -> None:
        _set(run, Workflow, workflow_id, client_id=w.other.client_id)

    # The client's people read its workflows; its owner alone changes them.
    return Family((Workflow, workflow_id), child, t.viewer, t.owner, w.other, move)


def _webhook_delivery(run: Runner, w: World) -> Family:
    t = w.team
    subscription_id = _insert(
        run,
        WebhookSubscription,
        client_id=t.client_id,
        url="https://example.com/h",
        secret_encrypted="x",
    )
    event_id = _insert(run, Event, client_id=t.client_id, type="ticket.created")
    child = _insert(
        run,
        WebhookDelivery,
        client_id=t.client_id,
        subscription_id=subscription_id,
        event_id=event_id,
        event_type="ticket.created",
    )

    def move() -> None:
        _set(run, WebhookSubscription, subscription_id, client_id=w.other.client_id)

    # The owner alone manages webhooks: nobody else of the client reads them.
    return Family((WebhookSubscription, subscription_id), child, None, t.owner, w.other, move)


def _certification_reminder(run: Runner, w: World) -> Family:
    t = w.team
    certification_id = add_certification(run, w.technician, "electrical", date(2030, 1, 1))
    child = _insert(
        run,
        CertificationReminder,
        certification_id=certification_id,
        expires_date=date(2030, 1, 1),
        days_before=30,
    )

    def move() -> None:
        _set(run, TechnicianCertification, certification_id, client_id=w.other.client_id)

    # A site manager reads the client's technicians' licences; the owner changes them.
    return Family(
        (TechnicianCertification, certification_id), child, t.manager, t.owner, w.other, move
    )


def _storeroom(run: Runner, w: World) -> uuid.UUID:
    """A storeroom of locale 1: its people read it, its manager manages it."""
    t = w.team
    return _insert(
        run,
        Warehouse,
        client_id=t.client_id,
        kind=WarehouseKind.locale,
        code=f"W-{secrets.token_hex(4)}",
        name="Bodega",
        locale_id=t.locale1,
    )


def _storeroom_family(
    run: Runner,
    w: World,
    warehouse_id: uuid.UUID,
    child: Any,
    parent: tuple[type[Base], Any] | None = None,
) -> Family:
    """A child of the storeroom (or of ``parent``, a child of it) moved with it to locale 2."""
    t = w.team

    def move() -> None:
        _set(run, Warehouse, warehouse_id, locale_id=t.locale2)

    return Family(parent or (Warehouse, warehouse_id), child, t.viewer, t.manager, t.manager2, move)


def _warehouse_child(model: Any, **values: Any) -> Callable[[Runner, World], Family]:
    def make(run: Runner, w: World) -> Family:
        warehouse_id = _storeroom(run, w)
        if "product_id" in model.__table__.c:
            values["product_id"] = make_product(run, w.team.client_id)
        child = _insert(run, model, client_id=w.team.client_id, warehouse_id=warehouse_id, **values)
        return _storeroom_family(run, w, warehouse_id, child)

    return make


def _count_line(run: Runner, w: World) -> Family:
    # A grandchild: the line follows its count, which follows its warehouse.
    warehouse_id = _storeroom(run, w)
    count_id = _insert(run, StockCount, client_id=w.team.client_id, warehouse_id=warehouse_id)
    child = _insert(
        run,
        StockCountLine,
        client_id=w.team.client_id,
        count_id=count_id,
        product_id=make_product(run, w.team.client_id),
    )
    return _storeroom_family(run, w, warehouse_id, child, (StockCount, count_id))


def _order(run: Runner, w: World) -> tuple[uuid.UUID, uuid.UUID]:
    t = w.team
    warehouse_id = _storeroom(run, w)
    vendor_id = _insert(
        run, Vendor, client_id=t.client_id, name="Proveedor", rut=secrets.token_hex(4)
    )
    order_id = _insert(
        run,
        PurchaseOrder,
        client_id=t.client_id,
        number=int.from_bytes(secrets.token_bytes(3), "big"),
        vendor_id=vendor_id,
        warehouse_id=warehouse_id,
    )
    return warehouse_id, order_id


def _purchase_order(run: Runner, w: World) -> Family:
    warehouse_id, order_id = _order(run, w)
    return _storeroom_family(run, w, warehouse_id, order_id)


def _order_child(model: Any, **values: Any) -> Callable[[Runner, World], Family]:
    def make(run: Runner, w: World) -> Family:
        warehouse_id, order_id = _order(run, w)
        child = _insert(run, model, client_id=w.team.client_id, order_id=order_id, **values)
        return _storeroom_family(run, w, warehouse_id, child, (PurchaseOrder, order_id))

    return make


def _reservation(run: Runner, w: World) -> Family:
    t = w.team
    ticket_id = make_ticket(run, t.client_id, t.locale1, None)
    child = _insert(
        run,
        StockReservation,
        client_id=t.client_id,
        ticket_id=ticket_id,
        warehouse_id=_storeroom(run, w),
        product_id=make_product(run, t.client_id),
        quantity=Decimal(1),
    )

    def move() -> None:
        _set(run, ServiceTicket, ticket_id, locale_id=t.locale2)

    return Family((ServiceTicket, ticket_id), child, t.viewer, t.manager, t.manager2, move)


def _delivery(run: Runner, w: World) -> Family:
    # A client's schedule is its admins' (no reader); moved to another client, it is theirs.
    t = w.team
    schedule_id = _insert(
        run,
        ReportSchedule,
        client_id=t.client_id,
        name="Semanal",
        kind="tickets",
        format="xlsx",
        filters={},
        period="last_week",
        frequency=ReportFrequency.weekly,
        weekday=0,
        time_of_day=time(8),
        timezone="America/Santiago",
        recipients=[],
        skip_empty=False,
        is_active=True,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    child = _insert(
        run,
        ReportDelivery,
        client_id=t.client_id,
        schedule_id=schedule_id,
        period_start=date(2026, 11, 30),
        period_end=date(2026, 12, 6),
        outcome="sent",
        created_at=utcnow(),
    )

    def move() -> None:
        _set(run, ReportSchedule, schedule_id, client_id=w.other.client_id)

    return Family((ReportSchedule, schedule_id), child, None, t.owner, w.other, move)


def _work_log(run: Runner, w: World) -> Family:
    # Of a technician the ticket is not assigned to: what reaches it is the ticket's rule.
    return _ticket_child(TicketWorkLog, technician_id=w.technician.id, started_at=utcnow())(run, w)


KINDS: dict[type[Base], Callable[[Runner, World], Family]] = {
    ReportDelivery: _delivery,
    AssetStatusChange: _asset_child(AssetStatusChange, to_status=AssetStatus.down),
    AssetBOM: _bom_line,
    AssetMaintenancePlan: _asset_child(AssetMaintenancePlan, name="Revisión"),
    PlanOccurrence: _plan_occurrence,
    TicketTask: _ticket_child(TicketTask, label="Revisar"),
    TicketComment: _ticket_child(TicketComment, body="Hola"),
    TicketAttachment: _ticket_child(
        TicketAttachment,
        kind="photo",
        filename="a.png",
        content_type="image/png",
        size_bytes=10,
        sha256="0" * 64,
        storage_key=f"tickets/{secrets.token_hex(8)}",
    ),
    TicketHistory: _ticket_child(TicketHistory, to_status=TicketStatus.open),
    ScanFollowLink: _follow_link,
    WorkflowStep: _workflow_step,
    IoTRule: _device_child(IoTRule, name="Alta", metric="temperature", kind="above"),
    IoTReading: _device_child(
        IoTReading, metric="temperature", value=4.0, device_time=utcnow(), received_at=utcnow()
    ),
    WebhookDelivery: _webhook_delivery,
    CertificationReminder: _certification_reminder,
    InventoryStock: _warehouse_child(InventoryStock),
    InventoryMovement: _warehouse_child(
        InventoryMovement,
        kind=MovementKind.adjustment,
        quantity=Decimal(1),
        document_kind=MovementDocument.adjustment,
        reason="x",
    ),
    StockCount: _warehouse_child(StockCount),
    StockCountLine: _count_line,
    PurchaseOrder: _purchase_order,
    PurchaseOrderLine: _order_child(PurchaseOrderLine, quantity=Decimal(2), description="x"),
    PurchaseOrderEvent: _order_child(PurchaseOrderEvent, to_status="draft"),
    StockReservation: _reservation,
    TicketWorkLog: _work_log,
}


@pytest.fixture
def world(client: TestClient, run: Runner) -> World:
    team = make_team(client, run)
    technician = make_user(client, run, role=UserRole.technician, client_id=team.client_id)
    return World(team, register_owner(client), technician)


def _reads(run: Runner, model: Any, child: Any, account: Account) -> bool:
    """Whether ``account`` reads the child by its id; checked against the list of the model's
    rows it may read (the same rule, the two ways services use it)."""
    p = principal(account)

    async def read(session: AsyncSession) -> bool:
        listed = await session.execute(access.scoped(select(model.id), model, p))
        in_list = child in set(listed.scalars())
        try:
            await access.get_scoped(session, model, child, p)
        except NotFound:
            assert not in_list
            return False
        assert in_list
        return True

    result: bool = run(read)
    return result


def _writes(run: Runner, model: Any, child: Any, account: Account) -> str:
    """What loading the child to change it answers the account: ok, 403 or 404."""
    p = principal(account)

    async def load(session: AsyncSession) -> str:
        try:
            await access.get_for_write(session, model, child, p)
        except Forbidden:
            return "403"
        except NotFound:
            return "404"
        return "ok"

    result: str = run(load)
    return result


@pytest.mark.parametrize("model", list(KINDS), ids=lambda m: m.__name__)
def test_a_child_follows_its_parent(run: Runner, world: World, model: Any) -> None:
    family = KINDS[model](run, world)
    parent_model, _parent_id = family.parent
    found = access.parent_of(model)
    assert found is not None, f"{model.__name__} does not follow a parent"
    assert found.model is parent_model
    write_needs = found.write

    # Readable parent → the child is visible; a writer of the parent changes it.
    assert _reads(run, model, family.child, family.writer)
    assert _writes(run, model, family.child, family.writer) == "ok"
    if family.reader is not None:
        assert _reads(run, model, family.child, family.reader)
        # A read-only reader of the parent: 403, unless readers add to it (a ticket's details).
        expected = "ok" if write_needs == "read" else "403"
        assert _writes(run, model, family.child, family.reader) == expected
    # Parent out of reach → the child is not found, by id or in a list.
    assert not _reads(run, model, family.child, family.outsider)
    assert _writes(run, model, family.child, family.outsider) == "404"

    # The rule reads the parent where it is now, not the child's own columns: moved to the
    # outsider's reach, the child goes with it.
    family.move()
    assert _reads(run, model, family.child, family.outsider)
    for account in (family.writer, family.reader):
        if account is not None:
            assert not _reads(run, model, family.child, account)


def test_a_child_follows_the_reach_of_its_parent(
    client: TestClient, run: Runner, world: World
) -> None:
    """A technician reads the asset of a ticket assigned to them (a reach of assets), and so
    its history, parts list and plans; nothing of it to change."""
    t = world.team
    for model in (AssetStatusChange, AssetBOM, AssetMaintenancePlan):
        family = KINDS[model](run, world)
        _, asset_id = family.parent
        assert not _reads(run, model, family.child, world.technician)
        make_ticket(run, t.client_id, t.locale1, asset_id, technician_id=world.technician.id)
        assert _reads(run, model, family.child, world.technician)
        assert _writes(run, model, family.child, world.technician) == "403"


def test_child_routes_answer_by_the_parent(client: TestClient, run: Runner, world: World) -> None:
    """Through the API: the status history and parts list of an asset, and a ticket's comments,
    follow the asset or ticket even when the rows' own locale says otherwise."""
    t = world.team
    asset_id = _asset(run, world)
    ticket_id = make_ticket(run, t.client_id, t.locale1, asset_id)
    scope = {"client_id": t.client_id, "locale_id": t.locale2}  # a stale copy: not what counts
    change = _insert(run, AssetStatusChange, asset_id=asset_id, to_status=AssetStatus.down, **scope)
    comment = _insert(run, TicketComment, ticket_id=ticket_id, body="Hola", **scope)
    history = f"{API}/assets/{asset_id}/status-history"
    comments = f"{API}/tickets/{ticket_id}/comments"

    def ids(account: Account, url: str) -> list[str] | int:
        response = client.get(url, headers=account.headers)
        if response.status_code != 200:
            return response.status_code
        return [item["id"] for item in response.json()["items"]]

    assert ids(t.viewer, history) == [str(change)]
    assert ids(t.viewer, comments) == [str(comment)]
    assert ids(t.manager2, history) == 404
    assert ids(t.manager2, comments) == 404
    _set(run, Asset, asset_id, locale_id=t.locale2)
    _set(run, ServiceTicket, ticket_id, locale_id=t.locale2)
    assert ids(t.viewer, history) == 404
    assert ids(t.viewer, comments) == 404
    assert ids(t.manager2, history) == [str(change)]
    assert ids(t.manager2, comments) == [str(comment)]


#: Models with a parent (a required foreign key, deleted with it, to a model with a rule) that
#: have rights of their own instead of following it, with the reason.
OWN_RIGHTS: dict[str, str] = {
    "assets": "an asset is reached by its locale (and by the technicians of its tickets)",
    "local_areas": "an area is reached by its locale (and by the technicians of its tickets)",
    "local_members": "members are managed by the locale's managers, not seen by its visitors",
    "service_tickets": "a ticket has requesters, viewers and assignees of its own",
    "iot_devices": "a device is reached by its locale, not by the technicians of its asset",
}


def _has_rule(model: Any) -> bool:
    return model in access._RULES


def _parents(model: Any) -> set[Any]:
    """The models with a rule that ``model``'s rows cannot outlive (a required foreign key, ON
    DELETE CASCADE). Clients and users are not parents here: a ``client_id`` names the tenant,
    and the rows of one person (keys, sessions, an inbox) have rules of their own."""
    found = set()
    for fk in model.__table__.foreign_keys:
        if fk.parent.nullable or (fk.ondelete or "").upper() != "CASCADE":
            continue
        if fk.column.table.name in ("clients", "users"):
            continue
        for mapper in Base.registry.mappers:
            other = mapper.class_
            if other.__table__ is fk.column.table and other is not model and _has_rule(other):
                found.add(other)
    return found


def test_every_child_model_has_a_rule() -> None:
    """A model whose rows hang off a scoped model either follows it or has rights of its own
    (listed above with the reason): a new module's child table cannot be left without a rule,
    which would hide it from everyone but staff, or read around it with plain selects."""
    missing = []
    for mapper in Base.registry.mappers:
        model = mapper.class_
        parents = _parents(model)
        if not parents:
            continue
        followed = access.parent_of(model)
        if model.__tablename__ in OWN_RIGHTS:
            assert _has_rule(model), model.__name__
            assert followed is None, f"{model.__name__} follows a parent: drop it from OWN_RIGHTS"
            continue
        if followed is None:
            missing.append(model.__name__)
            continue
        assert followed.column.table is model.__table__
        assert followed.column.references(followed.model.__table__.c.id), model.__name__
    assert not missing, f"models with a parent but no rule that follows it: {missing}"
    assert set(KINDS) == {m.class_ for m in Base.registry.mappers if access.parent_of(m.class_)}
