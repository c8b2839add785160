"""IoT readings: ingestion by device credential, and a device's series for users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Security
from fastapi.security import APIKeyHeader

from kerops.core.deps import PrincipalDep, SessionDep, StateDep
from kerops.core.errors import PayloadTooLarge
from kerops.core.i18n import gettext
from kerops.core.middleware import own_body_limit
from kerops.core.openapi import answers
from kerops.core.schemas import ApiDateTime
from kerops.iot import ingest, readings
from kerops.iot.readings_schemas import (
    BATCH_BODY_SCHEMA,
    Bucket,
    IngestResult,
    RawPage,
    SeriesRead,
)
from kerops.iot.schemas import MetricName

router = APIRouter(tags=["iot"])

device_key_header = APIKeyHeader(
    name=ingest.DEVICE_KEY_HEADER,
    auto_error=False,
    scheme_name="DeviceKey",
    description="The device credential issued when the device was created (or rotated).",
)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            gettext("A batch body may have at most {limit} bytes.", limit=limit),
            code="batch_too_large",
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                gettext("A batch body may have at most {limit} bytes.", limit=limit),
                code="batch_too_large",
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/iot/readings",
    response_model=IngestResult,
    openapi_extra={"requestBody": BATCH_BODY_SCHEMA},
)
@own_body_limit  # KEROPS_IOT_MAX_BODY_BYTES
@answers(401, 403)
async def ingest_readings(
    request: Request,
    session: SessionDep,
    state: StateDep,
    key: Annotated[str | None, Security(device_key_header)],
) -> IngestResult:
    """Store a batch of readings of the device whose key is sent in ``X-Device-Key``.

    Each reading is checked on its own: bad ones are listed by index in ``rejected``, the good
    ones are stored together; a reading whose ``message_id`` was stored before counts as a
    duplicate. A gateway device may name other devices of its locale in ``device``.
    """
    settings = state.settings
    device = await ingest.authenticate(session, key)
    batch = ingest.parse_batch(await _body(request, settings.iot_max_body_bytes), settings)
    return await ingest.ingest(session, device=device, readings=batch, settings=settings)


@router.get(
    "/iot-devices/{device_id}/readings",
    response_model=RawPage | SeriesRead,
)
async def read_series(
    device_id: uuid.UUID,
    principal: PrincipalDep,
    session: SessionDep,
    start: Annotated[
        ApiDateTime | None, Query(alias="from", description="Start (inclusive; default: to - 24 h)")
    ] = None,
    end: Annotated[
        ApiDateTime | None, Query(alias="to", description="End (exclusive; default: now)")
    ] = None,
    metric: MetricName | None = None,
    bucket: Annotated[
        Bucket | None, Query(description="Aggregate into buckets of this width")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="Raw readings per page")] = 1000,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> RawPage | SeriesRead:
    """A device's readings by device time: raw (keyset pages, oldest first) or, with
    ``bucket``, min/max/avg/count per bucket (at most 10,000 buckets)."""
    return await readings.read_series(
        session,
        principal=principal,
        device_id=device_id,
        start=start,
        end=end,
        metric=metric,
        bucket=bucket,
        limit=limit,
        cursor=cursor,
    )
