"""The started process's heap is kept out of full garbage collections, once per process."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from kerops.main import freeze_startup_heap


def test_a_started_app_has_frozen_the_heap_once(client: TestClient) -> None:
    # The first app started in this process froze what it held; later ones leave it alone.
    frozen = gc.get_freeze_count()
    assert frozen > 50_000  # modules, routes, schemas and mappers
    assert freeze_startup_heap() is False
    assert gc.get_freeze_count() == frozen
