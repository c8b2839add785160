"""Every workforce route answers 401 without credentials."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.factories import Runner
from tests.isolation import build_world
from tests.test_isolation import _call
from tests.workforce.isolation_cases_workforce import CASES


def test_workforce_routes_require_credentials(client: TestClient, run: Runner) -> None:
    world = build_world(client, run)
    for (method, path), case in CASES.items():
        response = _call(world, method, path, case, headers={})
        assert response.status_code == 401, (method, path, response.status_code, response.text)
