"""Printable documents: a ticket as a work order PDF, a locale's monthly maintenance report."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import case, select

from kerops.analytics.periods import zone
from kerops.analytics.summary import monthly_summary
from kerops.core import access
from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.errors import Forbidden, NotFound, Unprocessable, field_error
from kerops.core.i18n import current_language, gettext
from kerops.core.openapi import answers
from kerops.core.storage.backends import StorageDep
from kerops.reports import monthly, monthly_data, work_order, work_order_data
from kerops.tenancy.models import Locale
from kerops.users.models import Client

router = APIRouter(tags=["tickets"])

PDF_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The work order as a PDF document.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get("/tickets/{ticket_id}/pdf", response_class=Response, responses=PDF_RESPONSE)
async def ticket_work_order_pdf(
    ticket_id: uuid.UUID, reader: ReaderDep, storage: StorageDep
) -> Response:
    """The ticket as a printable work order, in the caller's language (whoever reads the
    ticket): its tasks, photos, parts, labour, totals, signature and status history."""
    order = await work_order_data.load(reader, storage, ticket_id)
    language = current_language()
    content = await asyncio.to_thread(work_order.render, order, language)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{work_order.filename(order)}"',
            "Cache-Control": "private, no-store",
        },
    )


MONTHLY_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The locale's monthly maintenance report as a PDF document.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }
}

Month = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
        max_length=7,
        description="The month, YYYY-MM (default: the last full month in the locale's time zone)",
    ),
]


def _month_of(asked: str | None, today: date) -> date:
    """The first day of the month asked for, or of the last full one; 422 after this month."""
    this_month = today.replace(day=1)
    if asked is None:
        last = this_month.replace(year=this_month.year - 1, month=12)
        return last if this_month.month == 1 else this_month.replace(month=this_month.month - 1)
    year, month = (int(part) for part in asked.split("-"))
    first = date(year, month, 1) if year >= 1 else None
    if first is None or first > this_month:
        raise Unprocessable(
            gettext("The report's month must not be after this one."),
            errors=[
                field_error(("query", "month"), gettext("not after this month"), "month_future")
            ],
        )
    return first


@router.get(
    "/locales/{locale_id}/reports/monthly.pdf",
    tags=["reports"],
    response_class=Response,
    responses=MONTHLY_RESPONSE,
)
@answers(403, 404, 422)
async def locale_monthly_pdf(
    locale_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, month: Month = None
) -> Response:
    """The locale's monthly maintenance report (docs/reports-pdf.md), in the caller's language:
    its managers, and the client's owner, admins and client-wide managers, may print it. The
    figures cover the locale only, each day in the locale's time zone."""
    manages = access.predicate(Locale, principal, "write")
    statement = (
        select(
            Locale.name,
            Locale.timezone,
            Locale.client_id,
            Client.name.label("client_name"),
            case((manages, True), else_=False).label("manages"),
        )
        .join(Client, Client.id == Locale.client_id)
        .where(Locale.id == locale_id, access.predicate(Locale, principal, "read"))
    )
    found = (await session.execute(statement)).one_or_none()
    if found is None:
        raise NotFound(access.not_found_detail(Locale))
    if not found.manages:
        raise Forbidden(
            gettext("Only the locale's managers and the client's admins and managers print it."),
            code="monthly_report_managers_only",
        )
    first = _month_of(month, datetime.now(zone(found.timezone)).date())
    summary = await monthly_summary(session, found.client_id, locale_id, first)
    language = current_language()
    report = monthly_data.monthly_report(
        summary, client_name=found.client_name, locale_name=found.name, language=language
    )
    content = await asyncio.to_thread(monthly.render_monthly, report, language)
    name = f"informe-mensual-{first:%Y-%m}.pdf" if language == "es-CL" else None
    filename = name or f"monthly-report-{first:%Y-%m}.pdf"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
