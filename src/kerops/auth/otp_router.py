"""Routes under /auth/otp."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/auth/otp", tags=["auth"])
