"""Reports: ``POST /reports`` → a job writes the file → status, download, signed link."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.audit.models import AuditLog
from kerops.core.storage.backends import storage_of
from kerops.core.types import utcnow
from kerops.notifications.models import Notification
from kerops.reports.models import Report
from tests.automation.helpers import run_job
from tests.fixtures.assets import make_ticket
from tests.fixtures.factories import Runner
from tests.fixtures.tenancy import Team, make_team

API = "/api/v1"


def _team(client: TestClient, run: Runner) -> Team:
    team = make_team(client, run)
    assert team.owner.client_id is not None
    for _ in range(3):
        make_ticket(run, team.owner.client_id, team.locale1, None)
    make_ticket(run, team.owner.client_id, team.locale2, None)
    return team


def _ask(client: TestClient, team: Team, **body: object) -> dict[str, object]:
    body.setdefault("kind", "tickets")
    response = client.post(f"{API}/reports", json=body, headers=team.owner.headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    report = client.get(f"{API}/reports/{response.json()['id']}", headers=team.owner.headers)
    assert report.status_code == 200
    result: dict[str, object] = report.json()
    return result


def test_a_report_is_written_by_its_job_and_downloaded(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    report = _ask(client, team, filters={"locale_id": str(team.locale1)}, language="en")
    assert report["status"] == "done"
    assert report["row_count"] == 3
    assert report["size_bytes"] and report["expires_at"]
    file = client.get(f"{API}/reports/{report['id']}/download", headers=team.owner.headers)
    assert file.status_code == 200
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 3
    listed = client.get(f"{API}/reports", headers=team.owner.headers).json()["items"]
    assert [item["id"] for item in listed] == [report["id"]]


def test_the_requester_is_notified_and_the_report_audited(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    report = _ask(client, team, format="xlsx")

    async def read(session: AsyncSession) -> tuple[list[Notification], list[AuditLog]]:
        notes = await session.execute(
            select(Notification).where(Notification.user_id == team.owner.id)
        )
        logs = await session.execute(select(AuditLog).where(AuditLog.action == "export"))
        return list(notes.scalars()), list(logs.scalars())

    notes, logs = run(read)
    [note] = [n for n in notes if n.type == "report.ready"]
    assert note.subject_id is not None and str(note.subject_id) == report["id"]
    [log] = logs
    assert log.record_id == report["id"]
    assert log.changes["rows"] == 4


def test_another_member_never_reads_a_report(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    report = _ask(client, team)
    other = make_team(client, run)
    for who in (team.manager, other.owner):
        response = client.get(f"{API}/reports/{report['id']}", headers=who.headers)
        assert response.status_code == 404
        download = client.get(f"{API}/reports/{report['id']}/download", headers=who.headers)
        assert download.status_code == 404
    assert client.get(f"{API}/reports", headers=other.owner.headers).json()["items"] == []


def test_a_signed_link_downloads_until_it_expires(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    report = _ask(client, team)
    link = client.get(f"{API}/reports/{report['id']}/link", headers=team.owner.headers)
    assert link.status_code == 200
    url = link.json()["url"]
    assert client.get(url).status_code == 200  # no bearer token
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.get(tampered).json()["code"] == "report_link_invalid"
    secret = client.app.state.kerops.security.session_secret  # type: ignore[attr-defined]
    signer = URLSafeTimedSerializer(secret, salt="kerops.report-download")
    old = signer.dumps(str(report["id"]))
    client.app.state.kerops.settings.report_link_seconds = -1  # type: ignore[attr-defined]
    try:
        expired = client.get(f"{API}/report-files/{old}")
    finally:
        client.app.state.kerops.settings.report_link_seconds = 86_400  # type: ignore[attr-defined]
    assert expired.status_code == 410
    assert expired.json()["code"] == "report_link_expired"


def test_expired_reports_are_swept(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    report = _ask(client, team)

    async def expire(session: AsyncSession) -> None:
        await session.execute(update(Report).values(expires_at=utcnow() - timedelta(minutes=1)))

    run(expire)
    gone = client.get(f"{API}/reports/{report['id']}/download", headers=team.owner.headers)
    assert gone.status_code == 410
    assert gone.json()["code"] == "report_expired"
    storage = storage_of(client.app.state)
    key = run(stored_key)
    assert client.portal.call(storage.exists, key)  # type: ignore[union-attr]
    run_job(client, "reports.sweep")
    assert not client.portal.call(storage.exists, key)  # type: ignore[union-attr]
    assert run(stored_key) is None
    again = client.get(f"{API}/reports/{report['id']}/download", headers=team.owner.headers)
    assert again.json()["code"] == "report_expired"


async def stored_key(session: AsyncSession) -> str | None:
    key: str | None = (await session.execute(select(Report.storage_key))).scalar_one()
    return key


def test_a_report_of_a_list_its_requester_may_not_read_fails(
    client: TestClient, run: Runner
) -> None:
    team = _team(client, run)
    response = client.post(
        f"{API}/reports", json={"kind": "audit_logs"}, headers=team.manager.headers
    )
    assert response.status_code == 202
    report = client.get(f"{API}/reports/{response.json()['id']}", headers=team.manager.headers)
    assert report.json()["status"] == "failed"
    assert report.json()["error_code"] == "forbidden"
    download = client.get(
        f"{API}/reports/{response.json()['id']}/download", headers=team.manager.headers
    )
    assert download.json()["code"] == "report_not_ready"


def test_bad_reports_are_refused(client: TestClient, run: Runner) -> None:
    team = _team(client, run)
    cases = [
        ({"kind": "nope"}, "unknown_kind"),
        ({"kind": "tickets", "filters": {"colour": "red"}}, "unknown_filter"),
        ({"kind": "tickets", "filters": {"status": ["nope"]}}, "enum"),
    ]
    for body, code in cases:
        response = client.post(f"{API}/reports", json=body, headers=team.owner.headers)
        assert response.status_code == 422, body
        assert code in {error["type"] for error in response.json()["errors"]}, response.json()
    response = client.post(
        f"{API}/reports", json={"kind": "tickets", "format": "doc"}, headers=team.owner.headers
    )
    assert response.status_code == 422
