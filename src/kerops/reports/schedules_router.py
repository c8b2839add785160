"""Report schedules (``/report-schedules``) and the periods each was sent for."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.reports import schedules
from kerops.reports.models import ReportDelivery, ReportSchedule
from kerops.reports.schedule_schemas import (
    DeliveryRead,
    ScheduleCreate,
    ScheduleRead,
    ScheduleUpdate,
)

router = APIRouter(tags=["reports"])

SchedulePage = Annotated[PageParams, sorted_by(schedules.SCHEDULE_SORTS)]
DeliveryPage = Annotated[PageParams, sorted_by(schedules.DELIVERY_SORTS)]
SCHEDULE_DOCUMENT = Document(ReportSchedule, ScheduleRead)
DELIVERY_DOCUMENT = Document(ReportDelivery, DeliveryRead)
SCHEDULE = "/report-schedules/{schedule_id}"


@router.post("/report-schedules", response_model=ScheduleRead, status_code=status.HTTP_201_CREATED)
async def create_report_schedule(
    body: ScheduleCreate, principal: PrincipalDep, session: SessionDep
) -> ReportSchedule:
    """Schedule a report (client admins and client-wide managers): docs/report-schedules.md."""
    return await schedules.create_schedule(session, principal=principal, data=body)


@router.get("/report-schedules", response_model=Page[ScheduleRead])
async def list_report_schedules(reader: ReaderDep, page: SchedulePage) -> Response:
    """The client's report schedules."""
    items, cursor = await schedules.list_schedules(reader, params=page)
    return await reader.respond_page(SCHEDULE_DOCUMENT, items, cursor)


@router.get(SCHEDULE, response_model=ScheduleRead)
async def get_report_schedule(schedule_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One report schedule, with its next run."""
    return await reader.respond(SCHEDULE_DOCUMENT, schedule_id)


@router.patch(SCHEDULE, response_model=ScheduleRead)
async def update_report_schedule(
    schedule_id: uuid.UUID, body: ScheduleUpdate, principal: PrincipalDep, session: SessionDep
) -> ReportSchedule:
    """Change a report schedule."""
    return await schedules.update_schedule(
        session, principal=principal, schedule_id=schedule_id, data=body
    )


@router.delete(SCHEDULE, status_code=status.HTTP_204_NO_CONTENT)
async def delete_report_schedule(
    schedule_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Delete a report schedule (its reports stay)."""
    await schedules.delete_schedule(session, principal=principal, schedule_id=schedule_id)


@router.get(f"{SCHEDULE}/deliveries", response_model=Page[DeliveryRead])
async def list_report_deliveries(
    schedule_id: uuid.UUID, reader: ReaderDep, page: DeliveryPage
) -> Response:
    """The periods the schedule was sent (or skipped) for."""
    items, cursor = await schedules.list_deliveries(reader, schedule_id=schedule_id, params=page)
    return await reader.respond_page(DELIVERY_DOCUMENT, items, cursor)
