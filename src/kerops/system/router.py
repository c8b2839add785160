"""Platform settings, plan limits and app versions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["system"])
