"""Settings: database URLs pick their async driver; the default is a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerops.config import Settings, normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/kerops", "postgresql+asyncpg://u:p@db:5432/kerops"),
        ("postgres://u@db/kerops", "postgresql+asyncpg://u@db/kerops"),
        ("postgresql+asyncpg://u@db/kerops", "postgresql+asyncpg://u@db/kerops"),
        ("sqlite:///tmp/x.db", "sqlite+aiosqlite:///tmp/x.db"),
    ],
)
def test_database_url_gets_async_driver(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected
    assert Settings(database_url=given).resolved_database_url == expected


def test_default_database_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None)
    assert settings.is_sqlite
    assert settings.resolved_database_url.endswith(str(tmp_path.resolve() / "kerops.sqlite3"))


def test_defaults_listen_on_loopback_8000() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
