"""``kerops inventory verify``: the stock of the configured database against its ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerops import cli
from kerops.config import get_settings


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the command at an empty SQLite data folder."""
    monkeypatch.setenv("KEROPS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEROPS_DATABASE_URL", raising=False)
    monkeypatch.setenv("KEROPS_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("KEROPS_ARGON2_TIME_COST", "1")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_verify_is_clean_after_the_demo_and_names_a_difference(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 0
    capsys.readouterr()
    assert cli.main(["inventory", "verify"]) == 0
    assert "matches" in capsys.readouterr().out
    with sqlite3.connect(data_dir / "kerops.sqlite3") as conn:
        # The demo's stores: a central store and a van, one part below its reorder point.
        kinds = conn.execute("SELECT kind, code FROM warehouses ORDER BY code").fetchall()
        assert kinds == [("central", "CENTRAL"), ("van", "VAN-01")]
        below = conn.execute(
            "SELECT count(*) FROM inventory_stock WHERE reorder_point > 0 "
            "AND on_hand - reserved + on_order <= reorder_point"
        ).fetchone()
        assert below == (1,)
        # A write that bypasses the ledger (the stock row alone): verify must see it.
        conn.execute(
            "UPDATE inventory_stock SET on_hand = on_hand + 1000 "
            "WHERE id = (SELECT min(id) FROM inventory_stock)"
        )
    assert cli.main(["inventory", "verify"]) == 1
    out = capsys.readouterr().out
    assert "1 stock rows differ" in out and "ledger" in out
