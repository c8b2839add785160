"""Isolation cases of the analytics routes: A's overview and a series of A's locale, asked for
by name of A's client (an outsider's answer is a 404 ``not_found``)."""

from __future__ import annotations

from typing import Any

from tests.isolation import Case, World

P = "/api/v1/analytics"


def _query(w: World) -> dict[str, Any]:
    return {
        "client_id": str(w.a_owner.client_id),
        "locale_id": str(w.a_locale),
        "from": "2026-01-01",
        "to": "2026-06-30",
    }


CASES = {
    ("GET", f"{P}/overview"): Case(query=_query, kind="list"),
    ("GET", f"{P}/{{metric}}"): Case(
        params=lambda w: {"metric": "mttr"}, query=_query, kind="list"
    ),
}
