"""Routes under /vendors."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/vendors", tags=["vendors"])
