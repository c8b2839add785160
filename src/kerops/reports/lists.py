"""The lists that export: each one registration (``register``) naming its kind, its path (the
file is ``GET {path}/export``), its filters (a Pydantic model: the list's own query parameters,
read from the query by the export route and from the body of ``POST /reports``), the function
reading one keyset page of it (the list's own service function: its filters, the caller's
reach, its default order) and its columns.

Adding a list to the exports is one ``register(ExportList(...))`` here (or in the list's own
module, imported by ``kerops.reports``)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.assets import service as assets
from kerops.audit import service as audit
from kerops.audit.schemas import AuditAction
from kerops.core.enums import AssetStatus, TicketPriority, TicketStatus
from kerops.core.i18n import N_
from kerops.core.pagination import PageParams
from kerops.core.reads import Reader
from kerops.core.schemas import ApiDateTime
from kerops.customfields import service as customfields_service
from kerops.inventory import stock
from kerops.operations import ticket_list

#: A text filter of a list (as its route declares it).
Text = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")]
#: The custom-field filters of a list (``field=code:value``, as its route declares them).
Fields = Annotated[
    list[
        Annotated[
            str, StringConstraints(pattern=customfields_service.FILTER_PATTERN, max_length=270)
        ]
    ]
    | None,
    Field(max_length=customfields_service.MAX_FILTERS),
]


class Filters(BaseModel):
    """The filters of an exported list (each list's own subclass: its list's query parameters).
    Unknown names are refused by the export route (the app refuses undeclared query
    parameters) and by ``POST /reports`` (``unknown_filter``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an exported list: the row's key, its header (translated when written)
    and how its values are shown: ``text``, ``number``, ``quantity`` (a ``Decimal``),
    ``money`` (minor units of the row's ``currency``, CLP without one), ``date``,
    ``datetime`` (in the reader's time zone), ``boolean``, ``code`` (a ticket's number) or
    ``label`` (an enum's value, shown by its label in ``labels``)."""

    key: str
    header: str
    kind: str = "text"
    labels: str | None = None


Rows = tuple[Sequence[Mapping[str, Any]], str | None]
#: One keyset page of a list: the reader, the filters and the page.
Fetch = Callable[[Reader, Any, PageParams], Awaitable[Rows]]


@dataclass(frozen=True, slots=True)
class ExportList:
    """A list that exports (see the module's description)."""

    kind: str
    path: str
    title: str
    filters: type[Filters]
    fetch: Fetch
    columns: tuple[Column, ...]
    tag: str
    #: The filters (from, to: instants) a scheduled report's period sets; None: the list is
    #: what is there now (a scheduled report takes it whole).
    period: tuple[str, str] | None = None


#: The lists that export, by kind.
LISTS: dict[str, ExportList] = {}


def register(export: ExportList) -> ExportList:
    """Make ``export`` a list that exports (``GET {path}/export``, a report's ``kind``)."""
    if export.kind in LISTS and LISTS[export.kind] is not export:
        raise ValueError(f"export {export.kind!r} registered twice")
    LISTS[export.kind] = export
    return export


# --- tickets -------------------------------------------------------------------------------------


class TicketFilters(Filters):
    """The filters of ``GET /tickets``."""

    status: Annotated[list[TicketStatus] | None, Field(max_length=12)] = None
    priority: TicketPriority | None = None
    locale_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    requester_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    overdue: bool | None = None
    sla_breached: bool | None = None
    sla_warned: bool | None = None
    created_from: ApiDateTime | None = None
    created_to: ApiDateTime | None = None
    q: Text | None = None
    field: Fields = None


async def _tickets(reader: Reader, f: TicketFilters, params: PageParams) -> Rows:
    return await ticket_list.list_tickets(
        reader,
        params=params,
        status=f.status,
        priority=f.priority,
        locale_id=f.locale_id,
        asset_id=f.asset_id,
        technician_id=f.technician_id,
        requester_id=f.requester_id,
        vendor_id=f.vendor_id,
        overdue=f.overdue,
        sla_breached=f.sla_breached,
        sla_warned=f.sla_warned,
        created_from=f.created_from,
        created_to=f.created_to,
        q=f.q,
        fields=f.field,
    )


register(
    ExportList(
        kind="tickets",
        path="/tickets",
        title=N_("Tickets"),
        filters=TicketFilters,
        fetch=_tickets,
        tag="tickets",
        period=("created_from", "created_to"),
        columns=(
            Column("number", N_("Ticket"), "code"),
            Column("title", N_("Title")),
            Column("status", N_("Status"), "label", "ticket_status"),
            Column("priority", N_("Priority"), "label", "ticket_priority"),
            Column("created_at", N_("Created"), "datetime"),
            Column("sla_resolution_due_at", N_("Resolution due"), "datetime"),
            Column("completed_at", N_("Completed"), "datetime"),
            Column("labour_cost_minor", N_("Labour cost"), "money"),
            Column("parts_cost_minor", N_("Parts cost"), "money"),
            Column("locale_id", N_("Locale id")),
            Column("asset_id", N_("Asset id")),
            Column("technician_id", N_("Technician id")),
            Column("id", N_("Id")),
        ),
    )
)


# --- assets --------------------------------------------------------------------------------------


class AssetFilters(Filters):
    """The filters of ``GET /assets``."""

    locale_id: uuid.UUID | None = None
    area_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    status: AssetStatus | None = None
    category: Text | None = None
    q: Text | None = None
    field: Fields = None


async def _assets(reader: Reader, f: AssetFilters, params: PageParams) -> Rows:
    return await assets.list_assets(
        reader,
        params=params,
        locale_id=f.locale_id,
        area_id=f.area_id,
        parent_id=f.parent_id,
        status=f.status,
        category=f.category,
        q=f.q,
        fields=f.field,
    )


register(
    ExportList(
        kind="assets",
        path="/assets",
        title=N_("Assets"),
        filters=AssetFilters,
        fetch=_assets,
        tag="assets",
        columns=(
            Column("name", N_("Name")),
            Column("category", N_("Category")),
            Column("make", N_("Make")),
            Column("model", N_("Model")),
            Column("serial_number", N_("Serial number")),
            Column("status", N_("Status"), "label", "asset_status"),
            Column("criticality", N_("Criticality"), "number"),
            Column("install_date", N_("Install date"), "date"),
            Column("warranty_end_date", N_("Warranty end date"), "date"),
            Column("created_at", N_("Created"), "datetime"),
            Column("locale_id", N_("Locale id")),
            Column("id", N_("Id")),
        ),
    )
)


# --- inventory stock -----------------------------------------------------------------------------


class StockFilters(Filters):
    """The filters of ``GET /inventory/stock``."""

    warehouse_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    below_reorder: bool | None = None
    q: Text | None = None


async def _stock(reader: Reader, f: StockFilters, params: PageParams) -> Rows:
    return await stock.list_stock(
        reader,
        params=params,
        warehouse_id=f.warehouse_id,
        product_id=f.product_id,
        below_reorder_point=f.below_reorder,
        q=f.q,
    )


register(
    ExportList(
        kind="stock",
        # ``/inventory/stock/export`` is the file in the stock import's columns.
        path="/inventory/stock/list",
        title=N_("Stock"),
        filters=StockFilters,
        fetch=_stock,
        tag="inventory",
        columns=(
            Column("warehouse_id", N_("Warehouse id")),
            Column("product_id", N_("Product id")),
            Column("on_hand", N_("On hand"), "quantity"),
            Column("reserved", N_("Reserved"), "quantity"),
            Column("on_order", N_("On order"), "quantity"),
            Column("reorder_point", N_("Reorder point"), "quantity"),
            Column("reorder_quantity", N_("Reorder quantity"), "quantity"),
            Column("bin_location", N_("Bin")),
            Column("average_cost_minor", N_("Average cost"), "money"),
            Column("updated_at", N_("Updated"), "datetime"),
        ),
    )
)


# --- audit log -----------------------------------------------------------------------------------


class AuditFilters(Filters):
    """The filters of ``GET /audit-logs``."""

    table_name: Annotated[str | None, Field(max_length=64)] = None
    record_id: Annotated[str | None, Field(max_length=64)] = None
    actor_user_id: uuid.UUID | None = None
    action: AuditAction | None = None
    locale_id: uuid.UUID | None = None
    occurred_from: ApiDateTime | None = None
    occurred_to: ApiDateTime | None = None


async def _audit(reader: Reader, f: AuditFilters, params: PageParams) -> Rows:
    # The list's own function on the reader's runner (a page of columns, no session).
    rows, cursor = await audit.list_audit_logs(
        cast(AsyncSession, reader.runner),
        reader.principal,
        params=params,
        filters=audit.AuditFilters(**f.model_dump()),
    )
    return cast(Sequence[Mapping[str, Any]], rows), cursor


register(
    ExportList(
        kind="audit_logs",
        path="/audit-logs",
        title=N_("Audit log"),
        filters=AuditFilters,
        fetch=_audit,
        tag="audit",
        period=("occurred_from", "occurred_to"),
        columns=(
            Column("occurred_at", N_("When"), "datetime"),
            Column("action", N_("Action")),
            Column("table_name", N_("Table")),
            Column("record_id", N_("Record id")),
            Column("actor_user_id", N_("Actor id")),
            Column("locale_id", N_("Locale id")),
            Column("request_id", N_("Request id")),
            Column("ip_address", N_("IP address")),
            Column("id", N_("Id")),
        ),
    )
)
