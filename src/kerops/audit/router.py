"""Routes under /audit-logs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/audit-logs", tags=["audit"])
