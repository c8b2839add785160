"""The ``kerops`` command: migrations, demo data (idempotent), platform admins."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from kerops import __version__, cli
from kerops.config import get_settings
from kerops.core.migrate import head_revision
from tests.fixtures.live_server import free_port
from tests.fixtures.processes import stop


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

    started: list[uvicorn.Config] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda server: started.append(server.config))
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert len(started) == 1
    assert started[0].server_header is False and started[0].port == 8123


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"kerops {__version__}"


def _serve(tmp_path: Path, port: int, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "KEROPS_DATA_DIR": str(tmp_path),
        "KEROPS_SECRET_KEY": "cli-test-secret-key-0123456789-abcdefghijklmnop",
        "KEROPS_LOG_LEVEL": "WARNING",
        **env,
    }
    for name in ("KEROPS_DATABASE_URL", "KEROPS_BROKER_URL", "KEROPS_EMAIL_BACKEND"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "kerops.cli", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _lines_until_ready(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "is ready at" in line:
            return lines
    raise AssertionError(f"no ready line: {lines}")


def test_serve_says_when_it_is_ready_and_that_emails_are_printed(tmp_path: Path) -> None:
    port = free_port()
    process = _serve(tmp_path, port)
    try:
        lines = _lines_until_ready(process)
        base = f"http://127.0.0.1:{port}"
        assert lines[-1] == f"KER Ops is ready at {base} (API docs: {base}/docs)"
        # Ready means serving: the first request after the line is answered.
        assert httpx2.get(f"{base}/api/v1/health", timeout=5).status_code == 200
        (notice,) = [line for line in lines if "E-mails are printed" in line]
        assert "not sent" in notice and "KEROPS_EMAIL_BACKEND=smtp" in notice
        assert "KEROPS_SMTP_HOST" in notice
    finally:
        stop(process)  # type: ignore[arg-type]


def test_serve_with_smtp_says_nothing_of_printed_emails(tmp_path: Path) -> None:
    process = _serve(tmp_path, free_port(), KEROPS_EMAIL_BACKEND="smtp")
    try:
        lines = _lines_until_ready(process)
        assert not [line for line in lines if "E-mails are printed" in line]
    finally:
        stop(process)  # type: ignore[arg-type]


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
