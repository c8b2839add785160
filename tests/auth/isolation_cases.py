"""Isolation cases of the auth routes."""

from __future__ import annotations

from tests.isolation import Case, public

P = "/api/v1"

PUBLIC = {
    ("GET", f"{P}/health"): public("liveness probe, no data"),
    ("GET", f"{P}/ready"): public("readiness probe, no data"),
    ("POST", f"{P}/auth/register"): public("sign-up creates a new, separate client"),
    ("POST", f"{P}/auth/login"): public("credentials in, own tokens out"),
    ("POST", f"{P}/auth/token"): public("credentials in, own tokens out"),
    ("POST", f"{P}/auth/refresh"): public("a refresh token is its own credential"),
}

CASES = {
    # Own data only: the answer is about the caller, never about A.
    ("GET", f"{P}/auth/me"): Case(kind="list"),
    # Logging out with A's refresh token must not end A's session (checked in test_login).
    ("POST", f"{P}/auth/logout"): Case(
        body=lambda w: {"refresh_token": w.a_owner.tokens["refresh_token"]},
        expect=frozenset({204, 401}),
    ),
}
