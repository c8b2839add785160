"""Exports: the lists of assets, tickets and locales as CSV or XLSX files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from kerops.assets import service as assets
from kerops.core.deps import ReaderDep, StateDep
from kerops.core.enums import AssetStatus, TicketPriority, TicketStatus
from kerops.core.pagination import PageParams
from kerops.core.schemas import ApiDateTime
from kerops.core.types import utcnow
from kerops.customfields.models import FieldEntity
from kerops.customfields.router import FieldFilters
from kerops.exports import service
from kerops.exports.service import ExportFormat
from kerops.operations import ticket_list
from kerops.tenancy import service as tenancy

router = APIRouter(tags=["exports"])

TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file: CSV (UTF-8) or XLSX, as an attachment.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            service.MEDIA_TYPES[ExportFormat.xlsx]: {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}
NAMES = {FieldEntity.asset: "assets", FieldEntity.ticket: "tickets", FieldEntity.locale: "locales"}


async def _export(
    reader: Any,
    entity: FieldEntity,
    page_of: Any,
    file_format: ExportFormat,
    max_rows: int,
) -> Response:
    data = await service.sheet(reader, entity, page_of, max_rows=max_rows)
    name = NAMES[entity]
    xlsx = file_format is ExportFormat.xlsx
    body = service.to_xlsx(data, name) if xlsx else service.to_csv(data)
    filename = f"{name}-{utcnow():%Y%m%d-%H%M%S}.{file_format.value}"
    return Response(
        content=body,
        media_type=service.MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _page_of(fn: Any, reader: Any, **filters: Any) -> Any:
    async def page_of(params: PageParams) -> tuple[Sequence[dict[str, Any]], str | None]:
        result: tuple[Sequence[dict[str, Any]], str | None] = await partial(fn, reader)(
            params=params, **filters
        )
        return result

    return page_of


@router.get("/exports/assets", response_class=Response, responses=FILE_RESPONSE)
async def export_assets(
    reader: ReaderDep,
    state: StateDep,
    format: ExportFormat = ExportFormat.csv,
    locale_id: uuid.UUID | None = None,
    area_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    status: AssetStatus | None = None,
    category: TextFilter = None,
    q: TextFilter = None,
    field: FieldFilters = None,
) -> Response:
    """The assets the caller can see, filtered as their list, as CSV or XLSX (by name)."""
    page_of = _page_of(
        assets.list_assets,
        reader,
        locale_id=locale_id,
        area_id=area_id,
        parent_id=parent_id,
        status=status,
        category=category,
        q=q,
        fields=field,
    )
    return await _export(reader, FieldEntity.asset, page_of, format, state.settings.export_max_rows)


@router.get("/exports/tickets", response_class=Response, responses=FILE_RESPONSE)
async def export_tickets(
    reader: ReaderDep,
    state: StateDep,
    format: ExportFormat = ExportFormat.csv,
    status: Annotated[list[TicketStatus] | None, Query(max_length=12)] = None,
    priority: TicketPriority | None = None,
    locale_id: uuid.UUID | None = None,
    asset_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    requester_id: uuid.UUID | None = None,
    vendor_id: uuid.UUID | None = None,
    overdue: Annotated[
        bool | None, Query(description="true: past the resolution deadline and still open")
    ] = None,
    sla_breached: bool | None = None,
    sla_warned: bool | None = None,
    created_from: ApiDateTime | None = None,
    created_to: ApiDateTime | None = None,
    q: TextFilter = None,
    field: FieldFilters = None,
) -> Response:
    """The tickets the caller can see, filtered as their list, as CSV or XLSX (newest
    first)."""
    page_of = _page_of(
        ticket_list.list_tickets,
        reader,
        status=status,
        priority=priority,
        locale_id=locale_id,
        asset_id=asset_id,
        technician_id=technician_id,
        requester_id=requester_id,
        vendor_id=vendor_id,
        overdue=overdue,
        sla_breached=sla_breached,
        sla_warned=sla_warned,
        created_from=created_from,
        created_to=created_to,
        q=q,
        fields=field,
    )
    return await _export(
        reader, FieldEntity.ticket, page_of, format, state.settings.export_max_rows
    )


@router.get("/exports/locales", response_class=Response, responses=FILE_RESPONSE)
async def export_locales(
    reader: ReaderDep,
    state: StateDep,
    format: ExportFormat = ExportFormat.csv,
    q: TextFilter = None,
    city: TextFilter = None,
    region: TextFilter = None,
    is_active: bool | None = None,
    field: FieldFilters = None,
) -> Response:
    """The locales the caller can see, filtered as their list, as CSV or XLSX (by name)."""
    page_of = _page_of(
        tenancy.list_locales,
        reader,
        q=q,
        city=city,
        region=region,
        is_active=is_active,
        fields=field,
    )
    return await _export(
        reader, FieldEntity.locale, page_of, format, state.settings.export_max_rows
    )
