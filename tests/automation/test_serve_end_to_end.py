"""The single-command default: ``kerops serve`` (in-process broker, embedded scheduler) opens the
ticket of a plan that is due now within a minute, seen through the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2

from tests.fixtures.factories import PASSWORD, unique_email
from tests.fixtures.live_server import free_port
from tests.fixtures.processes import stop

API = "/api/v1"


def _wait_until_up(base: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kerops serve exited with {process.returncode}")
        try:
            if httpx2.get(f"{base}{API}/health", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("kerops serve did not start")


def test_kerops_serve_opens_the_ticket_of_a_plan_due_now(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "KEROPS_DATA_DIR": str(tmp_path),
        "KEROPS_SECRET_KEY": "end-to-end-secret-key-0123456789-abcdefghijkl",
        "KEROPS_JOB_INTERVALS": json.dumps({"pm.generate": 1}),
        "KEROPS_ARGON2_MEMORY_KIB": "1024",
        "KEROPS_ARGON2_TIME_COST": "1",
        "KEROPS_LOG_LEVEL": "WARNING",
    }
    env.pop("KEROPS_DATABASE_URL", None)
    env.pop("KEROPS_BROKER_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kerops.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(base, process, time.monotonic() + 60)
        with httpx2.Client(base_url=base, timeout=10) as http:
            email = unique_email("owner")
            registered = http.post(
                f"{API}/auth/register",
                json={"email": email, "password": PASSWORD, "full_name": "Dueña Planta"},
            )
            assert registered.status_code == 201, registered.text
            tokens = http.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
            locale = http.post(
                f"{API}/locales",
                json={"name": "Planta Norte", "timezone": "America/Santiago"},
                headers=headers,
            ).json()
            asset = http.post(
                f"{API}/assets",
                json={"locale_id": locale["id"], "name": "Chiller 1", "category": "hvac"},
                headers=headers,
            ).json()
            tomorrow = datetime.now(ZoneInfo("America/Santiago")).date() + timedelta(days=1)
            # Weekly from tomorrow at 08:00 with two days of lead time: its work is due now (the
            # next occurrence's only in six days).
            plan = http.post(
                f"{API}/assets/{asset['id']}/maintenance-plans",
                json={
                    "name": "Revisión semanal",
                    "interval_unit": "week",
                    "interval_count": 1,
                    "start_date": tomorrow.isoformat(),
                    "lead_time_days": 2,
                    "checklist_template": [{"label": "Revisar presión", "kind": "check"}],
                },
                headers=headers,
            )
            assert plan.status_code == 201, plan.text
            started = time.monotonic()
            found: list[dict[str, object]] = []
            while time.monotonic() - started < 60 and not found:
                page = http.get(f"{API}/tickets", params={"asset_id": asset["id"]}, headers=headers)
                found = [t for t in page.json()["items"] if t["source"] == "plan"]
                if not found:
                    time.sleep(0.5)
            assert found, "no ticket within a minute"
            [ticket] = found
            assert ticket["maintenance_plan_id"] == plan.json()["id"]
            assert "Revisión semanal" in str(ticket["title"])
            time.sleep(2)  # more runs of the generation add nothing
            page = http.get(f"{API}/tickets", params={"asset_id": asset["id"]}, headers=headers)
            assert [t["id"] for t in page.json()["items"] if t["source"] == "plan"] == [
                ticket["id"]
            ]
    finally:
        stop(process)
