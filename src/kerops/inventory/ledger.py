"""The ledger: the one place stock changes. Every change of ``on_hand`` writes its movement in
the same transaction, and every decrease is one conditional UPDATE (``on_hand - reserved``
must cover it at that instant), never a read then a write: two requests taking the last unit
cannot both succeed, on PostgreSQL or SQLite, and a stock row never goes below zero (the
table's checks say so too). A stock row is the sum of its movements; ``verify`` proves it.

Quantities are ``Decimal`` in the product's unit and travel in SQL as thousandths
(``kerops.core.types.Quantity``). Costs are integer minor units. The weighted average cost of a
stock row moves only with receipts and transfers in: ``(on_hand * average + quantity * cost) /
(on_hand + quantity)``, rounded half up to the minor unit. Issues, returns and transfers out
are valued at the average at that moment.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    bindparam,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import MovementDocument, MovementKind
from kerops.core.errors import Conflict
from kerops.core.i18n import gettext
from kerops.core.types import quantity_from_stored, quantity_to_stored, utcnow, uuid7
from kerops.inventory.models import InventoryMovement, InventoryStock

#: Kinds whose quantity adds to the stock, and those that take from it.
INCREASES = frozenset({MovementKind.receipt, MovementKind.return_, MovementKind.transfer_in})
DECREASES = frozenset({MovementKind.issue, MovementKind.transfer_out})
#: Kinds that may go either way (a correction, a count's difference).
EITHER = frozenset({MovementKind.adjustment, MovementKind.counted})

_STOCK: Table = InventoryStock.__table__  # type: ignore[assignment]
_MOVEMENTS: Table = InventoryMovement.__table__  # type: ignore[assignment]


def _raw(column: Any) -> ColumnElement[int]:
    """A quantity column as its stored thousandths (integer arithmetic in SQL)."""
    return type_coerce(column, BigInteger())


ON_HAND = _raw(_STOCK.c.on_hand)
RESERVED = _raw(_STOCK.c.reserved)
AVERAGE = _STOCK.c.average_cost_minor


@dataclass(frozen=True)
class Moved:
    """What a movement did: the ledger row's id, the stock row after it, and the unit cost the
    movement was valued at."""

    movement_id: uuid.UUID
    stock_id: uuid.UUID
    on_hand: Decimal
    reserved: Decimal
    average_cost_minor: int
    unit_cost_minor: int


def insufficient(available: Decimal) -> Conflict:
    """The 409 of a decrease that the available quantity does not cover."""
    return Conflict(
        gettext("Not enough stock: {available} available.", available=format(available, "f")),
        code="insufficient_stock",
        available=format(available, "f"),
    )


async def available(
    session: AsyncSession, *, warehouse_id: uuid.UUID, product_id: uuid.UUID
) -> Decimal:
    """``on_hand - reserved`` of a stock row (zero when there is none)."""
    value = (
        await session.execute(
            select(ON_HAND - RESERVED).where(
                _STOCK.c.warehouse_id == warehouse_id, _STOCK.c.product_id == product_id
            )
        )
    ).scalar()
    return quantity_from_stored(int(value or 0))


def _upsert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def new_stock_row(
    client_id: uuid.UUID, warehouse_id: uuid.UUID, product_id: uuid.UUID, **values: Any
) -> dict[str, Any]:
    """The columns of a stock row not there yet: nothing on hand, reserved or on order, no
    reorder settings, no cost, unless ``values`` says otherwise."""
    now = utcnow()
    return {
        "id": uuid7(),
        "client_id": client_id,
        "warehouse_id": warehouse_id,
        "product_id": product_id,
        "on_hand": Decimal(0),
        "reserved": Decimal(0),
        "on_order": Decimal(0),
        "reorder_point": Decimal(0),
        "reorder_quantity": Decimal(0),
        "bin_location": "",
        "average_cost_minor": 0,
        "created_at": now,
        "updated_at": now,
        **values,
    }


def upsert_stock(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    values: dict[str, Any],
    changes: dict[str, Any],
) -> Any:
    """The INSERT of a stock row (``new_stock_row`` with ``values``) that, when the warehouse
    already keeps the product, sets ``changes`` on that row instead (and its ``updated_at``):
    one statement, on the (warehouse, product) key, on both databases."""
    row = new_stock_row(client_id, warehouse_id, product_id, **values)
    stmt = _upsert(session.get_bind().dialect.name)(_STOCK).values(**row)
    return stmt.on_conflict_do_update(
        index_elements=[_STOCK.c.warehouse_id, _STOCK.c.product_id],
        set_={**changes, "updated_at": row["updated_at"]},
    )


def _at_least_zero(session: AsyncSession, value: Any) -> Any:
    """``value``, or zero when it would be below (SQLite's two-argument ``max``)."""
    floor = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
    return floor(value, 0)


async def _increase(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    stored: int,
    unit_cost_minor: int | None,
) -> tuple[Any, int]:
    """Add ``stored`` thousandths to a stock row (created when missing); with a cost, the
    average moves to the weighted one. Returns the row after it and the unit cost used."""
    if unit_cost_minor is None:
        # Valued at the row's own average: the average does not move.
        new_average: Any = AVERAGE
        first_cost = 0
    else:
        # The stock before is never negative and ``stored`` is positive: ``total`` > 0.
        total = ON_HAND + stored
        new_average = (ON_HAND * AVERAGE + stored * unit_cost_minor + total // 2) // total
        first_cost = unit_cost_minor
    stmt = upsert_stock(
        session,
        client_id=client_id,
        warehouse_id=warehouse_id,
        product_id=product_id,
        values={"on_hand": quantity_from_stored(stored), "average_cost_minor": first_cost},
        changes={"on_hand": ON_HAND + stored, "average_cost_minor": new_average},
    ).returning(_STOCK.c.id, _STOCK.c.on_hand, _STOCK.c.reserved, AVERAGE)
    row = (await session.execute(stmt)).one()
    return row, row.average_cost_minor if unit_cost_minor is None else unit_cost_minor


# The conditional UPDATE of a decrease: ``stored`` thousandths off a stock row,
# ``from_reserved`` of them out of what is reserved, only if the rest (``free``) is available at
# that instant; it returns the row after it (nothing when it was not). Built once, with its
# values as parameters: an issue only binds them (no statement to build and key per call).
_TAKING = (
    update(_STOCK)
    .where(
        _STOCK.c.warehouse_id == bindparam("stock_warehouse"),
        _STOCK.c.product_id == bindparam("stock_product"),
        bindparam("free", type_=BigInteger()) <= ON_HAND - RESERVED,
        bindparam("from_reserved", type_=BigInteger()) <= RESERVED,
    )
    .values(
        on_hand=ON_HAND - bindparam("stored", type_=BigInteger()),
        reserved=RESERVED - bindparam("from_reserved", type_=BigInteger()),
        updated_at=bindparam("now"),
    )
    .returning(_STOCK.c.id, _STOCK.c.on_hand, _STOCK.c.reserved, AVERAGE)
)


def _taking_params(
    *, warehouse_id: uuid.UUID, product_id: uuid.UUID, stored: int, from_reserved: int
) -> dict[str, Any]:
    return {
        "stock_warehouse": warehouse_id,
        "stock_product": product_id,
        "stored": stored,
        "free": stored - from_reserved,
        "from_reserved": from_reserved,
        "now": utcnow(),
    }


async def _insufficient(
    session: AsyncSession, *, warehouse_id: uuid.UUID, product_id: uuid.UUID
) -> Conflict:
    return insufficient(await available(session, warehouse_id=warehouse_id, product_id=product_id))


async def _decrease(
    session: AsyncSession,
    *,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    stored: int,
    from_reserved: int,
) -> Any:
    """Take from a stock row in one conditional UPDATE (``_TAKING``); a 409 naming the
    available quantity when it is not there at that instant."""
    params = _taking_params(
        warehouse_id=warehouse_id,
        product_id=product_id,
        stored=stored,
        from_reserved=from_reserved,
    )
    row = (await session.execute(_TAKING, params)).one_or_none()
    if row is None:
        raise await _insufficient(session, warehouse_id=warehouse_id, product_id=product_id)
    return row


@functools.cache
def _decrease_and_record_statement() -> Any:
    """``WITH taken AS (UPDATE ... RETURNING ...) INSERT INTO inventory_movements ... SELECT
    ... FROM taken`` (PostgreSQL), built once: on first use, when every table is known (a
    column that only references another takes that column's type then)."""
    taken = _TAKING.cte("taken")
    columns = [c for c in _MOVEMENTS.c if c.key != "unit_cost_minor"]
    return (
        insert(_MOVEMENTS)
        .from_select(
            [*(c.key for c in columns), "unit_cost_minor"],
            select(
                *(bindparam(f"m_{c.key}", type_=c.type) for c in columns),
                taken.c.average_cost_minor,
            ),
        )
        .returning(
            _MOVEMENTS.c.unit_cost_minor,
            select(taken.c.id).scalar_subquery(),
            select(taken.c.on_hand).scalar_subquery(),
            select(taken.c.reserved).scalar_subquery(),
        )
    )


async def _decrease_and_record(
    session: AsyncSession, *, stored: int, from_reserved: int, movement: dict[str, Any]
) -> Moved:
    """PostgreSQL: a decrease and its movement in one statement (``WITH taken AS (UPDATE ...
    RETURNING ...) INSERT ... SELECT ... FROM taken``), valued at the row's average: one round
    trip while the row is locked instead of two, so a hot row is held for less time. No row
    taken, no movement written: the 409."""
    # The movement's values are named apart: a parameter named as a stock column would be
    # taken for a value the UPDATE sets.
    params = {
        **{f"m_{key}": value for key, value in movement.items()},
        **_taking_params(
            warehouse_id=movement["warehouse_id"],
            product_id=movement["product_id"],
            stored=stored,
            from_reserved=from_reserved,
        ),
    }
    row = (await session.execute(_decrease_and_record_statement(), params)).one_or_none()
    if row is None:
        raise await _insufficient(
            session, warehouse_id=movement["warehouse_id"], product_id=movement["product_id"]
        )
    cost, stock_id, on_hand, reserved = row
    return Moved(
        movement_id=movement["id"],
        stock_id=stock_id,
        on_hand=on_hand,
        reserved=reserved,
        average_cost_minor=cost,
        unit_cost_minor=cost,
    )


async def move(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    kind: MovementKind,
    quantity: Decimal,
    document_kind: MovementDocument,
    document_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    unit_cost_minor: int | None = None,
    reason: str = "",
    from_reserved: Decimal = Decimal(0),
) -> Moved:
    """Change a stock row by ``quantity`` (signed: positive in, negative out; its sign must
    suit ``kind``) and write the movement. An increase with ``unit_cost_minor`` moves the
    average cost; without it (a return) it is valued at the average. A decrease is valued at
    the average and may take ``from_reserved`` out of the reserved quantity (an issue of held
    parts). Callers check the warehouse, product and rights; this checks only the stock."""
    if quantity == 0:
        raise ValueError("a movement moves something")
    if (kind in INCREASES and quantity < 0) or (kind in DECREASES and quantity > 0):
        raise ValueError(f"a {kind.value} movement cannot have that sign")
    stored = quantity_to_stored(quantity)
    movement: dict[str, Any] = {
        "id": uuid7(),
        "client_id": client_id,
        "warehouse_id": warehouse_id,
        "product_id": product_id,
        "kind": kind,
        "quantity": quantity,
        "document_kind": document_kind,
        "document_id": document_id,
        "actor_id": actor_id,
        "reason": reason,
        "created_at": utcnow(),
    }
    if stored < 0 and session.get_bind().dialect.name == "postgresql":
        return await _decrease_and_record(
            session,
            stored=-stored,
            from_reserved=quantity_to_stored(from_reserved),
            movement=movement,
        )
    if stored > 0:
        row, cost = await _increase(
            session,
            client_id=client_id,
            warehouse_id=warehouse_id,
            product_id=product_id,
            stored=stored,
            unit_cost_minor=unit_cost_minor,
        )
    else:
        row = await _decrease(
            session,
            warehouse_id=warehouse_id,
            product_id=product_id,
            stored=-stored,
            from_reserved=quantity_to_stored(from_reserved),
        )
        cost = row.average_cost_minor
    movement_id = movement["id"]
    await session.execute(_MOVEMENTS.insert(), {**movement, "unit_cost_minor": cost})
    return Moved(
        movement_id=movement_id,
        stock_id=row.id,
        on_hand=row.on_hand,
        reserved=row.reserved,
        average_cost_minor=row.average_cost_minor,
        unit_cost_minor=cost,
    )


async def reserve(
    session: AsyncSession, *, warehouse_id: uuid.UUID, product_id: uuid.UUID, quantity: Decimal
) -> None:
    """Hold ``quantity`` of a stock row (one conditional UPDATE; 409 ``insufficient_stock``
    when that much is not available at that instant)."""
    stored = quantity_to_stored(quantity)
    stmt = (
        update(_STOCK)
        .where(
            _STOCK.c.warehouse_id == warehouse_id,
            _STOCK.c.product_id == product_id,
            stored <= ON_HAND - RESERVED,
        )
        .values(reserved=RESERVED + stored, updated_at=utcnow())
        .returning(_STOCK.c.id)
    )
    if (await session.execute(stmt)).first() is None:
        raise insufficient(
            await available(session, warehouse_id=warehouse_id, product_id=product_id)
        )


async def release(
    session: AsyncSession, *, warehouse_id: uuid.UUID, product_id: uuid.UUID, quantity: Decimal
) -> None:
    """Give back a hold of ``quantity`` (never below zero reserved)."""
    stored = quantity_to_stored(quantity)
    await session.execute(
        update(_STOCK)
        .where(_STOCK.c.warehouse_id == warehouse_id, _STOCK.c.product_id == product_id)
        .values(
            reserved=_at_least_zero(session, RESERVED - stored),
            updated_at=utcnow(),
        )
    )


@dataclass(frozen=True)
class Difference:
    """A stock row whose ``on_hand`` is not the sum of its movements."""

    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    on_hand: Decimal
    ledger: Decimal


async def verify(session: AsyncSession, *, client_id: uuid.UUID | None = None) -> list[Difference]:
    """Every stock row recomputed from the ledger (of one client, or all): the rows whose
    ``on_hand`` differs from the sum of their movements (a ledger without a stock row counts
    as a stock of zero)."""
    sums = select(
        _MOVEMENTS.c.warehouse_id, _MOVEMENTS.c.product_id, func.sum(_raw(_MOVEMENTS.c.quantity))
    ).group_by(_MOVEMENTS.c.warehouse_id, _MOVEMENTS.c.product_id)
    stock = select(_STOCK.c.warehouse_id, _STOCK.c.product_id, ON_HAND)
    if client_id is not None:
        sums = sums.where(_MOVEMENTS.c.client_id == client_id)
        stock = stock.where(_STOCK.c.client_id == client_id)
    ledger = {(w, p): int(total) for w, p, total in (await session.execute(sums)).all()}
    found = {(w, p): int(h) for w, p, h in (await session.execute(stock)).all()}
    return [
        Difference(
            w,
            p,
            quantity_from_stored(found.get((w, p), 0)),
            quantity_from_stored(ledger.get((w, p), 0)),
        )
        for w, p in sorted(found.keys() | ledger.keys())
        if found.get((w, p), 0) != ledger.get((w, p), 0)
    ]


# --- Batches of movements (stock imports): the same rules as ``move``, one statement per batch.


@dataclass(frozen=True)
class BatchMove:
    """One change of a batch: a signed quantity of a product in a warehouse, (for an increase)
    the unit cost it is valued at (None: at the row's average), the document its movement
    belongs to when it is not the batch's (a receipt's movements name each their order line),
    and what it takes off the row's quantity on order (a receipt: what arrived of it)."""

    warehouse_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal
    unit_cost_minor: int | None = None
    document_id: uuid.UUID | None = None
    off_order: Decimal = Decimal(0)


#: How many stock rows one locking SELECT names (two parameters each).
BATCH_ROWS = 1000

# The rows of a batch's warehouses and products (a superset of its pairs, kept apart in
# Python): two plain IN lists use the (warehouse, product) index on both databases. In id
# order, so two batches lock the rows they share in the same order (no deadlock).
_LOCKED = (
    select(_STOCK.c.id, _STOCK.c.warehouse_id, _STOCK.c.product_id, ON_HAND, RESERVED, AVERAGE)
    .where(
        _STOCK.c.warehouse_id.in_(bindparam("warehouses", expanding=True)),
        _STOCK.c.product_id.in_(bindparam("products", expanding=True)),
    )
    .order_by(_STOCK.c.id)
)


def _set_stock(floor: Any) -> Any:
    return (
        update(_STOCK)
        .where(_STOCK.c.id == bindparam("stock_id"), bindparam("taken") <= ON_HAND - RESERVED)
        .values(
            on_hand=ON_HAND + bindparam("delta", type_=BigInteger()),
            average_cost_minor=bindparam("average"),
            # never below zero (SQLite's two-argument ``max``)
            on_order=floor(_raw(_STOCK.c.on_order) - bindparam("off", type_=BigInteger()), 0),
            updated_at=bindparam("now"),
        )
    )


_SET_STOCK = {"postgresql": _set_stock(func.greatest), "sqlite": _set_stock(func.max)}


def _weighted(on_hand: int, average: int, stored: int, cost: int) -> int:
    """The weighted average after adding ``stored`` at ``cost`` (half up, as ``_increase``)."""
    total = on_hand + stored
    return (on_hand * average + stored * cost + total // 2) // total


@dataclass
class _Row:
    """A stock row while a batch works on it: as locked, then after each of its changes."""

    stock_id: uuid.UUID | None
    on_hand: int
    reserved: int
    average: int
    delta: int = 0
    off_order: int = 0


async def move_many(
    session: AsyncSession,
    *,
    client_id: uuid.UUID,
    changes: Sequence[BatchMove],
    kind: MovementKind,
    document_kind: MovementDocument,
    document_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    reason: str = "",
) -> int:
    """``move`` for many stock rows at once: the rows are locked (``FOR UPDATE`` on
    PostgreSQL; SQLite's writers take turns), every decrease must be covered by what is
    available (409 ``insufficient_stock`` otherwise, nothing written), then one UPDATE per row
    and one INSERT per movement are sent as batches (a constant number of statements, however
    many changes). A row named by several changes takes them in order (each valued as ``move``
    would, one after the other) and is written once. Returns the movements written."""
    if kind not in EITHER and any(
        (kind in INCREASES and c.quantity < 0) or (kind in DECREASES and c.quantity > 0)
        for c in changes
    ):
        raise ValueError(f"a {kind.value} movement cannot have that sign")
    wanted = [c for c in changes if c.quantity != 0]
    pairs = list(dict.fromkeys((c.warehouse_id, c.product_id) for c in wanted))
    dialect = session.get_bind().dialect.name
    locking = _LOCKED.with_for_update() if dialect == "postgresql" else _LOCKED
    rows: dict[tuple[uuid.UUID, uuid.UUID], _Row] = {}
    for start in range(0, len(pairs), BATCH_ROWS):
        batch = set(pairs[start : start + BATCH_ROWS])
        params = {
            "warehouses": sorted({w for w, _ in batch}),
            "products": sorted({p for _, p in batch}),
        }
        for found in (await session.execute(locking, params)).all():
            stock_id, warehouse_id, product_id, on_hand, reserved, average = found
            if (warehouse_id, product_id) in batch:
                rows[(warehouse_id, product_id)] = _Row(stock_id, on_hand, reserved, average)
    now = utcnow()
    movements: list[dict[str, Any]] = []
    for change in wanted:
        stored = quantity_to_stored(change.quantity)
        row = rows.setdefault((change.warehouse_id, change.product_id), _Row(None, 0, 0, 0))
        if stored < 0 and row.on_hand - row.reserved < -stored:
            raise insufficient(quantity_from_stored(max(row.on_hand - row.reserved, 0)))
        if stored > 0 and change.unit_cost_minor is not None:
            cost = change.unit_cost_minor
            row.average = _weighted(row.on_hand, row.average, stored, cost)
        else:
            cost = row.average
        row.on_hand += stored
        row.delta += stored
        row.off_order += quantity_to_stored(change.off_order)
        movements.append(
            {
                "id": uuid7(),
                "client_id": client_id,
                "warehouse_id": change.warehouse_id,
                "product_id": change.product_id,
                "kind": kind,
                "quantity": change.quantity,
                "unit_cost_minor": cost,
                "document_kind": document_kind,
                "document_id": change.document_id or document_id,
                "actor_id": actor_id,
                "reason": reason,
                "created_at": now,
            }
        )
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for (warehouse_id, product_id), row in rows.items():
        if row.delta == 0 and (row.stock_id is None or row.off_order == 0):
            continue  # its changes cancel out (a missing row is not made for nothing)
        if row.stock_id is None:
            inserts.append(
                new_stock_row(
                    client_id,
                    warehouse_id,
                    product_id,
                    on_hand=quantity_from_stored(row.on_hand),
                    average_cost_minor=row.average,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            updates.append(
                {
                    "stock_id": row.stock_id,
                    "taken": max(-row.delta, 0),
                    "delta": row.delta,
                    "off": row.off_order,
                    "average": row.average,
                    "now": now,
                }
            )
    if inserts:
        # A row another transaction created meanwhile is added to, as ``_increase`` does.
        stmt = _upsert(dialect)(_STOCK)
        added = _raw(stmt.excluded.on_hand)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[_STOCK.c.warehouse_id, _STOCK.c.product_id],
                set_={
                    "on_hand": ON_HAND + added,
                    "average_cost_minor": (
                        ON_HAND * AVERAGE
                        + added * stmt.excluded.average_cost_minor
                        + (ON_HAND + added) // 2
                    )
                    // (ON_HAND + added),
                    "updated_at": stmt.excluded.updated_at,
                },
            ),
            inserts,
        )
    if updates:
        await session.execute(_SET_STOCK[dialect], updates)
    if movements:
        await session.execute(_MOVEMENTS.insert(), movements)
    return len(movements)


# --- on order: the quantities of open purchase orders not yet received (purchasing) ---------------

ON_ORDER = _raw(_STOCK.c.on_order)


async def add_on_order(
    session: AsyncSession,
    client_id: uuid.UUID,
    warehouse_id: uuid.UUID,
    product_id: uuid.UUID,
    delta: Decimal,
) -> None:
    """Change the quantity on order of a stock row by ``delta`` (created when missing, never
    below zero); ``on_hand`` does not move, so no movement is written."""
    stored = quantity_to_stored(delta)
    if stored == 0:
        return
    stmt = upsert_stock(
        session,
        client_id=client_id,
        warehouse_id=warehouse_id,
        product_id=product_id,
        values={"on_order": quantity_from_stored(max(stored, 0))},
        changes={"on_order": _at_least_zero(session, ON_ORDER + stored)},
    )
    await session.execute(stmt)
