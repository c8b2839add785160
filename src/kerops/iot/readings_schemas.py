"""Schemas of IoT readings: the ingestion batch and its result, raw and bucketed series."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from kerops.core.schemas import API_DATETIME_JSON_SCHEMA, ReadModel


class Bucket(enum.StrEnum):
    """Width of the buckets of an aggregated series."""

    m1 = "1m"
    m5 = "5m"
    m15 = "15m"
    h1 = "1h"
    d1 = "1d"

    @property
    def seconds(self) -> int:
        """The bucket's width in seconds."""
        return BUCKET_SECONDS[self]


BUCKET_SECONDS = {
    Bucket.m1: 60,
    Bucket.m5: 300,
    Bucket.m15: 900,
    Bucket.h1: 3600,
    Bucket.d1: 86400,
}


class RejectReason(enum.StrEnum):
    """Why one reading of a batch was not stored."""

    malformed = "malformed"
    unknown_device = "unknown_device"
    device_inactive = "device_inactive"
    unknown_metric = "unknown_metric"
    wrong_unit = "wrong_unit"
    value_not_finite = "value_not_finite"
    time_in_future = "time_in_future"
    time_too_old = "time_too_old"


class Rejected(ReadModel):
    """A reading that was not stored: its position in the batch and why."""

    index: int
    reason: RejectReason
    detail: str


class IngestResult(ReadModel):
    """What became of a batch: stored, already stored before (or twice in it), refused."""

    accepted: int
    duplicates: int
    rejected: list[Rejected]


class ReadingRead(ReadModel):
    """One stored reading."""

    id: int
    metric: str
    value: float
    device_time: datetime
    received_at: datetime
    message_id: str | None


class BucketRead(ReadModel):
    """The readings of one metric in one time bucket, aggregated."""

    metric: str
    start: datetime
    min: float
    max: float
    avg: float
    count: int


class SeriesRead(ReadModel):
    """A bucketed series: every non-empty bucket of the range, oldest first."""

    bucket: Bucket
    start: datetime
    end: datetime
    items: list[BucketRead]
    next_cursor: None = None


class RawPage(ReadModel):
    """One page of raw readings, oldest first; pass ``next_cursor`` back as ``cursor``."""

    items: list[ReadingRead]
    next_cursor: str | None = None


#: Default range of a series request without ``from``.
DEFAULT_RANGE = timedelta(hours=24)

_READING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["metric", "value"],
    "additionalProperties": False,
    "properties": {
        "metric": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"},
        "value": {"type": "number"},
        "ts": {
            "description": "Device time: RFC 3339 with offset, or Unix seconds (default: now)",
            "oneOf": [API_DATETIME_JSON_SCHEMA, {"type": "number"}],
        },
        "unit": {"type": "string", "maxLength": 16, "description": "Checked when given"},
        "message_id": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "The device's id of the reading: a re-sent reading is stored once",
        },
        "device": {
            "type": "string",
            "maxLength": 120,
            "description": "Serial number of the measuring device (gateways only)",
        },
    },
}

#: The request body of ``POST /iot/readings`` (validated per reading, not by FastAPI).
BATCH_BODY_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "title": "ReadingBatch",
                "type": "object",
                "required": ["readings"],
                "additionalProperties": False,
                "properties": {
                    "readings": {"type": "array", "items": _READING_SCHEMA, "maxItems": 5000}
                },
            }
        }
    },
}
