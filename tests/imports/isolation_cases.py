"""Isolation cases of imports: an outsider's file naming A's locale imports nothing into A."""

from __future__ import annotations

import uuid
from typing import Any

from tests.imports.helpers import csv_file, set_locale_code
from tests.isolation import Case, World

P = "/api/v1"
A_LOCALE_CODE = "A-CENTRO"


def _a_locale_code(w: World) -> str:
    def make() -> str:
        set_locale_code(w.run, w.a_locale, A_LOCALE_CODE)
        return A_LOCALE_CODE

    result: str = w.once("imports_a_locale_code", make)
    return result


def _assets_file(w: World) -> dict[str, Any]:
    """One asset (a new code each time) in A's locale, by its code."""
    code = f"AS-{uuid.uuid4().hex[:8]}"
    rows = [["Local", "Código", "Nombre"], [_a_locale_code(w), code, "Intrusa"]]
    return {"file": ("activos.csv", csv_file(rows, ";"), "text/csv")}


CASES = {
    # A real run of assets into A's locale: a row error (422) or a refusal (403), never a write.
    ("POST", f"{P}/imports/{{kind}}"): Case(
        params=lambda w: {"kind": "assets"},
        files=_assets_file,
        form={"dry_run": "false"},
        expect=frozenset({403, 422}),
    ),
    # A template holds no tenant data: everyone signed in may download it.
    ("GET", f"{P}/imports/{{kind}}/template"): Case(
        params=lambda w: {"kind": "assets"}, expect=frozenset({200})
    ),
}
