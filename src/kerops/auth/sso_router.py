"""Single sign-on (OIDC) routes and identity provider administration."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["sso"])
