"""The public version check is rate-limited per caller address."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"public_rate_limit": "2/minute"}


def test_the_public_check_is_rate_limited(client: TestClient) -> None:
    params = {"platform": "ios", "version": "1.0.0"}
    for _ in range(2):
        assert client.get("/api/v1/app-versions/check", params=params).status_code == 200
    limited = client.get("/api/v1/app-versions/check", params=params)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
