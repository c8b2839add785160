"""Isolation cases of the sync stream: an outsider's stream never shows an object of A."""

from __future__ import annotations

from tests.isolation import Case

P = "/api/v1"

CASES = {
    ("GET", f"{P}/sync"): Case(kind="list"),
}
