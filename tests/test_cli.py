"""The ``kerops`` command: migrations, demo data (idempotent), platform admins."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerops import cli
from kerops.config import get_settings
from kerops.core.migrate import head_revision


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


def _query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "kerops.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def test_db_upgrade_then_downgrade(data_dir: Path) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    assert _query(data_dir, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert cli.main(["db", "downgrade", "base"]) == 0
    assert _query(data_dir, "SELECT count(*) FROM alembic_version") == [(0,)]


def test_db_current_runs(data_dir: Path) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["db", "current"]) == 0


def test_demo_is_idempotent(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    users = _query(data_dir, "SELECT count(*) FROM users")[0][0]
    locales = _query(data_dir, "SELECT count(*) FROM locales")[0][0]
    assets = _query(data_dir, "SELECT count(*) FROM assets")[0][0]
    tickets = _query(data_dir, "SELECT count(*) FROM service_tickets")[0][0]
    assert users >= 6 and locales == 2
    assert assets >= 20 and tickets >= 8
    assert _query(data_dir, "SELECT last_number FROM ticket_counters") == [(tickets,)]
    assert cli.main(["demo"]) == 0
    assert _query(data_dir, "SELECT count(*) FROM users")[0][0] == users
    assert _query(data_dir, "SELECT count(*) FROM locales")[0][0] == locales
    assert _query(data_dir, "SELECT count(*) FROM assets")[0][0] == assets
    assert _query(data_dir, "SELECT count(*) FROM service_tickets")[0][0] == tickets
    assert "already present" in capsys.readouterr().out


def test_create_admin(data_dir: Path) -> None:
    code = cli.main(["create-admin", "--email", "Ops@KER.cl", "--password", "Sturdy-Admin-2026"])
    assert code == 0
    assert _query(data_dir, "SELECT email, role FROM users") == [("ops@ker.cl", "super_admin")]
    # the same email twice is refused, and so is a weak password
    assert (
        cli.main(["create-admin", "--email", "ops@ker.cl", "--password", "Sturdy-Admin-2026"]) == 2
    )
    assert cli.main(["create-admin", "--email", "x@ker.cl", "--password", "short"]) == 2


def test_secret_key_is_generated_once_and_kept(data_dir: Path) -> None:
    settings = get_settings()
    first = settings.resolved_secret_key()
    assert (data_dir / "secret_key").read_text().strip() == first
    assert settings.resolved_secret_key() == first
    assert oct((data_dir / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_serve_starts_uvicorn_without_a_server_header(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert len(started) == 1
    assert started[0]["server_header"] is False and started[0]["port"] == 8123
