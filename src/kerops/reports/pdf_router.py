"""Printable documents: a ticket as a work order PDF."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import APIRouter, Response

from kerops.core.deps import ReaderDep
from kerops.core.i18n import current_language
from kerops.core.storage.backends import StorageDep
from kerops.reports import work_order, work_order_data

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
