"""Peak memory of a CSV export as its row count grows (``GET /tickets/export?format=csv``).

Each row count seeds, in a process of its own, a SQLite database migrated to head with one
client and N tickets (inserted in batches); then a fresh process starts the app, sends one
export of no rows (every import and cache warmed), notes its peak RSS, sends the export of the N
rows through the app (the ASGI call, the body counted and dropped as it streams) and notes its
peak RSS again: what the export added must not grow with N.

    .venv/bin/python bench/export_rss.py 100000 1000000
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(rows: int, folder: Path, *, seed_only: bool) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import insert

    from kerops.config import Settings
    from kerops.core.migrate import upgrade
    from kerops.core.types import uuid7
    from kerops.main import create_app
    from kerops.operations.models import ServiceTicket
    from kerops.tenancy.models import Locale

    settings = Settings(
        environment="test",
        data_dir=folder,
        secret_key="bench-secret-" + "x" * 40,
        log_level="WARNING",
        jobs_inline=True,
        embedded_scheduler=False,
        argon2_memory_kib=1024,
        argon2_time_cost=1,
        report_direct_max_rows=rows + 1,
    )
    if seed_only:
        upgrade(settings)
    app = create_app(settings)
    with TestClient(app) as client:
        body = {"email": "bench@example.com", "password": "Bench-password-1", "full_name": "B"}
        if seed_only:
            registered = client.post("/api/v1/auth/register", json=body)
            assert registered.status_code == 201, registered.text
        tokens = client.post(
            "/api/v1/auth/login", json={"email": body["email"], "password": body["password"]}
        ).json()
        headers = {"authorization": f"Bearer {tokens['access_token']}"}
        me = client.get("/api/v1/auth/me", headers=headers).json()
        client_id = uuid.UUID(me["client_id"])
        state = app.state.kerops

        async def seed() -> None:
            from kerops.core import row_scope

            with row_scope.platform():
                async with state.db.sessions() as session:
                    locale_id = uuid7()
                    await session.execute(
                        insert(Locale),
                        [{"id": locale_id, "client_id": client_id, "name": "Bench", "code": "B"}],
                    )
                    batch = 20_000
                    for start in range(0, rows, batch):
                        await session.execute(
                            insert(ServiceTicket),
                            [
                                {
                                    "id": uuid7(),
                                    "client_id": client_id,
                                    "locale_id": locale_id,
                                    "number": number + 1,
                                    "title": f"Falla {number}",
                                    "labour_cost_minor": number * 10,
                                }
                                for number in range(start, min(rows, start + batch))
                            ],
                        )
                    await session.commit()

        if seed_only:
            started = time.perf_counter()
            client.portal.call(seed)  # type: ignore[union-attr]
            print(f"rows={rows} seed_s={time.perf_counter() - started:.1f}", flush=True)
            return

        async def export(query: bytes) -> tuple[int, int]:
            sent = {"bytes": 0, "status": 0}
            auth = headers["authorization"].encode()
            scope: dict[str, Any] = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/api/v1/tickets/export",
                "raw_path": b"/api/v1/tickets/export",
                "query_string": query,
                "headers": [(b"authorization", auth), (b"host", b"bench")],
                "client": ("127.0.0.1", 1),
                "server": ("bench", 80),
                "root_path": "",
            }

            asked = asyncio.Event()

            async def receive() -> dict[str, Any]:
                if asked.is_set():  # the client stays connected until the body is sent
                    await asyncio.Event().wait()
                asked.set()
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    sent["status"] = message["status"]
                elif message["type"] == "http.response.body":
                    sent["bytes"] += len(message.get("body", b""))

            await app(scope, receive, send)
            return sent["status"], sent["bytes"]

        # An export of no rows first: every import, cache and connection of the path warmed.
        none = b"format=csv&language=es-CL&status=cancelled"
        warm_status, _ = client.portal.call(export, none)  # type: ignore[union-attr]
        assert warm_status == 200
        before = _peak_mib()
        started = time.perf_counter()
        query = b"format=csv&language=es-CL"
        status, size = client.portal.call(export, query)  # type: ignore[union-attr]
        took = time.perf_counter() - started
        after = _peak_mib()
    print(
        f"rows={rows} status={status} bytes={size} export_s={took:.1f} "
        f"peak_rss_before_export_mib={before:.1f} peak_rss_after_export_mib={after:.1f} "
        f"export_added_mib={after - before:.1f}",
        flush=True,
    )


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] in {"--seed", "--export"}:
        measure(int(sys.argv[2]), Path(sys.argv[3]), seed_only=sys.argv[1] == "--seed")
        return
    for rows in [int(arg) for arg in sys.argv[1:]] or [100_000, 1_000_000]:
        folder = tempfile.mkdtemp(prefix="kerops-export-rss-")
        for phase in ("--seed", "--export"):
            command = [sys.executable, __file__, phase, str(rows), folder]
            subprocess.run(command, check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
