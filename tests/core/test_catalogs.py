"""The catalogs are complete in both languages and keep no entry the code does not use."""

from __future__ import annotations

from kerops.core.catalogs import check


def test_every_marked_text_is_translated_once_and_no_entry_is_stale() -> None:
    report = check()
    assert report.missing == [], (
        "texts without a translation (python -m kerops.core.catalogs update NAME)"
    )
    assert report.stale == [], (
        "catalog entries no code uses (python -m kerops.core.catalogs update NAME)"
    )
    assert report.duplicated == []
    assert report.placeholders == []
