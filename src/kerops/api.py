"""The list of every module's router (mounted under /api/v1 by the app factory)."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the API, in documentation order."""
    from kerops.auth.router import router as auth_router
    from kerops.system.health import router as health_router

    return [health_router, auth_router]
