"""Reading a device's series: raw readings by keyset pages, or buckets aggregated in SQL."""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import gettext
from kerops.core.principal import Principal
from kerops.core.types import utcnow
from kerops.iot import repository
from kerops.iot.models import IoTDevice
from kerops.iot.readings_schemas import (
    DEFAULT_RANGE,
    Bucket,
    BucketRead,
    RawPage,
    ReadingRead,
    SeriesRead,
)

#: Most buckets one series request may span.
MAX_BUCKETS = 10_000


def _range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable(
                gettext("'{name}' needs a UTC offset.", name=name),
                errors=[field_error(("query", name), gettext("timezone offset required"))],
            )
    end = end or utcnow()
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise Unprocessable(
            gettext("'from' must be before 'to'."),
            errors=[field_error(("query", "from"), gettext("must be before 'to'"))],
        )
    return start, end


def _encode(at: datetime, reading_id: int) -> str:
    raw = json.dumps({"t": at.isoformat(), "i": reading_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=="))
        at = datetime.fromisoformat(raw["t"])
        reading_id = raw["i"]
        if at.tzinfo is None or type(reading_id) is not int:
            raise ValueError("bad cursor")
        return at, reading_id
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise Unprocessable(
            gettext("The cursor is not valid for this series."),
            errors=[field_error(("query", "cursor"), gettext("invalid cursor"), "cursor_invalid")],
        ) from exc


async def read_series(
    session: AsyncSession,
    *,
    principal: Principal,
    device_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    metric: str | None,
    bucket: Bucket | None,
    limit: int,
    cursor: str | None,
) -> RawPage | SeriesRead:
    """A device's readings in ``[start, end)`` by device time: raw pages, or buckets."""
    await access.get_scoped(session, IoTDevice, device_id, principal)
    start, end = _range(start, end)
    if bucket is not None:
        count = math.ceil((end - start).total_seconds() / bucket.seconds)
        if count > MAX_BUCKETS:
            raise Unprocessable(
                gettext(
                    "The range spans {count} buckets of {value}; at most {maximum}.",
                    count=count,
                    value=bucket.value,
                    maximum=MAX_BUCKETS,
                ),
                errors=[
                    field_error(
                        ("query", "bucket"), gettext("too many buckets"), "too_many_buckets"
                    )
                ],
            )
        rows = await repository.buckets(
            session,
            device_id=device_id,
            start=start,
            end=end,
            metric=metric,
            seconds=bucket.seconds,
            principal=principal,
        )
        items = [
            BucketRead(metric=m, start=at, min=lo, max=hi, avg=mean, count=n)
            for m, at, lo, hi, mean, n in rows
        ]
        return SeriesRead(bucket=bucket, start=start, end=end, items=items)
    after = _decode(cursor) if cursor else None
    readings = await repository.raw_page(
        session,
        device_id=device_id,
        start=start,
        end=end,
        metric=metric,
        after=after,
        limit=limit + 1,
        principal=principal,
    )
    page = list(readings[:limit])
    next_cursor = None
    if len(readings) > limit:
        last = page[-1]
        next_cursor = _encode(last.device_time, last.id)
    return RawPage(items=[ReadingRead.model_validate(r) for r in page], next_cursor=next_cursor)
