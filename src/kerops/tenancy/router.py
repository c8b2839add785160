"""Locales, local areas and local members."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["tenancy"])
