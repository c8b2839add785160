"""Analytics: the dashboard's overview and each metric's series (docs/analytics.md)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from kerops.analytics import service
from kerops.analytics.base import Source
from kerops.analytics.periods import Filters, Group
from kerops.analytics.schemas import MetricRead, OverviewRead
from kerops.core.deps import ReaderDep
from kerops.core.enums import TicketPriority
from kerops.core.openapi import answers
from kerops.core.schemas import ApiDate
from kerops.core.types import utcnow

router = APIRouter(prefix="/analytics", tags=["analytics"])

Category = Annotated[str, Query(min_length=1, max_length=64, description="An asset category")]
Source_ = Annotated[
    str,
    Query(
        pattern="^(manual|scan|plan|sensor)$", description="How tickets were raised", max_length=16
    ),
]


def filters_of(
    reader: ReaderDep,
    start: Annotated[
        ApiDate | None, Query(alias="from", description="First local date (default: a year ago)")
    ] = None,
    end: Annotated[
        ApiDate | None, Query(alias="to", description="Last local date (default: today)")
    ] = None,
    client_id: Annotated[
        uuid.UUID | None, Query(description="The client (platform staff; others: their own)")
    ] = None,
    locale_id: uuid.UUID | None = None,
    area_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    category: Category | None = None,
    vendor_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    priority: TicketPriority | None = None,
    source: Source_ | None = None,
) -> Filters:
    """The client, period and filters a request asks for (422 for a bad period)."""
    first, last = service.period(start, end)
    return Filters(
        client_id=service.resolve_client(reader.principal, client_id),
        start=first,
        end=last,
        locale_id=locale_id,
        area_id=area_id,
        asset_id=asset_id,
        category=category,
        vendor_id=vendor_id,
        technician_id=technician_id,
        priority=priority,
        source=source,
    )


FiltersDep = Annotated[Filters, Depends(filters_of)]


def _source(reader: ReaderDep) -> Source:
    return Source(run=reader.runner.all, principal=reader.principal, now=utcnow())


@router.get("/overview", response_model=OverviewRead)
@answers(404)  # another client named by ``client_id``
async def get_overview(reader: ReaderDep, filters: FiltersDep) -> OverviewRead:
    """The dashboard's cards (MTTR, response time, SLA, backlog, first-time fix, PM compliance,
    planned ratio, costs, availability, downtime, utilisation, alarms) beside the previous
    period's values."""
    async with reader.sharing():
        cards = await service.overview(_source(reader), filters)
    previous = filters.previous()
    return OverviewRead(
        from_=filters.start,
        to=filters.end,
        previous_from=previous.start,
        previous_to=previous.end,
        cards=[asdict(card) for card in cards],  # type: ignore[misc]
    )


@router.get("/{metric}", response_model=MetricRead)
async def get_metric(
    reader: ReaderDep, metric: str, filters: FiltersDep, group: Group = Group.month
) -> MetricRead:
    """One metric's series by ``group`` (each locale's buckets in its own time zone; weeks
    start on Monday) and its breakdowns; an unknown metric is a 404 ``metric_not_found``."""
    async with reader.sharing():
        result = await service.series(_source(reader), filters, metric, group)
    return MetricRead.model_validate(
        {
            **asdict(result),
            "group": group,
            "from_": filters.start,
            "to": filters.end,
        }
    )
