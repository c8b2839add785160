"""Costs: labour from work logs (by the log's start), parts from the inventory ledger (by the
movement's time) or, for a ticket without movements, its typed parts cost (by its completion),
and vendor charges (none in the data model yet: 0). Per bucket, asset, locale and category."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    case,
    exists,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)

from kerops.analytics.base import Breakdown, MetricResult, Source, fold, points, ticket_conditions
from kerops.analytics.periods import Filters, Group, Zones
from kerops.assets.models import Asset
from kerops.core.enums import MovementDocument, MovementKind, TicketStatus
from kerops.inventory.models import InventoryMovement
from kerops.labour.models import TicketWorkLog
from kerops.operations.models import ServiceTicket
from kerops.tenancy.models import Locale

L = TicketWorkLog
M = InventoryMovement
T = ServiceTicket
PART_KINDS = (MovementKind.issue, MovementKind.return_)
TOP = 10
ZERO = literal(0, BigInteger)


def _part(zones: Zones, instant: Any, where: list[Any], labour: Any, parts: Any, frm: Any) -> Any:
    return (
        select(
            zones.local_day(instant, Locale.timezone).label("day"),
            T.locale_id.label("locale_id"),
            T.asset_id.label("asset_id"),
            labour.label("labour"),
            parts.label("parts"),
        )
        .select_from(frm)
        .join(Locale, Locale.id == T.locale_id)
        .where(zones.within(instant, Locale.timezone), *where)
    )


def costs_statement(zones: Zones, filters: Filters, source: Source) -> Select[Any]:
    """Per local day, locale and asset (with the asset's name and category): labour and parts
    costs in minor units."""
    base = ticket_conditions(dataclasses.replace(filters, technician_id=None), source)
    of_ticket = [M.document_kind == MovementDocument.ticket, M.kind.in_(PART_KINDS)]
    labour = _part(
        zones,
        L.started_at,
        [
            *base,
            L.client_id == filters.client_id,
            *([L.technician_id == filters.technician_id] if filters.technician_id else []),
        ],
        L.cost_minor,
        ZERO,
        L.__table__.join(T, T.id == L.ticket_id),
    )
    raw = type_coerce(M.quantity, BigInteger)
    worth = (func.abs(raw) * M.unit_cost_minor + 500) // literal(1000, Integer)
    value = case((raw < 0, worth), else_=-worth)
    ticket_filters = ticket_conditions(filters, source)
    ledger = _part(
        zones,
        M.created_at,
        [*ticket_filters, M.client_id == filters.client_id, *of_ticket],
        ZERO,
        value,
        M.__table__.join(T, T.id == M.document_id),
    )
    moved = exists().where(M.document_id == T.id, *of_ticket)
    typed = _part(
        zones,
        T.completed_at,
        [*ticket_filters, T.status == TicketStatus.completed, ~moved],
        ZERO,
        T.parts_cost_minor,
        T,
    )
    rows = union_all(labour, ledger, typed).subquery("costs")
    return (
        select(
            rows.c.day,
            rows.c.locale_id,
            Locale.name,
            rows.c.asset_id,
            Asset.name,
            Asset.category,
            func.sum(rows.c.labour),
            func.sum(rows.c.parts),
        )
        .select_from(rows)
        .join(Locale, Locale.id == rows.c.locale_id)
        .outerjoin(Asset, Asset.id == rows.c.asset_id)
        .group_by(
            rows.c.day, rows.c.locale_id, Locale.name, rows.c.asset_id, Asset.name, Asset.category
        )
    )


def _money(labour: float, parts: float) -> dict[str, Any]:
    return {
        "labour_minor": int(labour),
        "parts_minor": int(parts),
        "vendor_minor": 0,
        "total_minor": int(labour + parts),
    }


async def costs(source: Source, zones: Zones, filters: Filters, group: Group) -> MetricResult:
    """Costs per bucket, per locale and category, and the 10 costliest assets."""
    rows = list(await source.run(costs_statement(zones, filters, source)))
    names = ("labour", "parts")
    buckets = fold(((r[0], r[6], r[7]) for r in rows), filters, group, names)
    locales: dict[Any, list[Any]] = {}
    categories: dict[str, list[float]] = {}
    assets: dict[Any, list[Any]] = {}
    for _day, locale_id, locale_name, asset_id, asset_name, category, labour, parts in rows:
        spent = (float(labour or 0), float(parts or 0))
        for table, key, label in (
            (locales, locale_id, locale_name),
            (assets, asset_id, asset_name),
        ):
            if key is None:
                continue
            entry = table.setdefault(key, [label, 0.0, 0.0])
            entry[1] += spent[0]
            entry[2] += spent[1]
        if asset_id is not None:
            sums = categories.setdefault(category or "", [0.0, 0.0])
            sums[0] += spent[0]
            sums[1] += spent[1]
    listed = [
        Breakdown(
            kind="locale", key=str(k), label=v[0], value=int(v[1] + v[2]), values=_money(v[1], v[2])
        )
        for k, v in sorted(locales.items(), key=lambda kv: (-(kv[1][1] + kv[1][2]), kv[1][0]))
    ]
    listed += [
        Breakdown(kind="category", key=k, label=k, value=int(v[0] + v[1]), values=_money(*v))
        for k, v in sorted(categories.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))
    ]
    costliest = sorted(assets.items(), key=lambda kv: (-(kv[1][1] + kv[1][2]), kv[1][0]))[:TOP]
    listed += [
        Breakdown(
            kind="asset", key=str(k), label=v[0], value=int(v[1] + v[2]), values=_money(v[1], v[2])
        )
        for k, v in costliest
    ]
    labour = sum(b["labour"] for b in buckets.values())
    parts = sum(b["parts"] for b in buckets.values())
    return MetricResult(
        metric="costs",
        unit="minor",
        value=int(labour + parts),
        values={**_money(labour, parts), "currency": "CLP"},
        points=points(
            buckets,
            filters,
            group,
            lambda b: int(b["labour"] + b["parts"]),
            lambda b: _money(b["labour"], b["parts"]),
        ),
        rows=listed,
    )
