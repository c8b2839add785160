"""Fixtures of the notification tests: jobs run inline, a site with its people, and a real HTTP
receiver for webhooks."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import LocalRole, ShiftType, UserRole
from kerops.core.types import uuid7
from kerops.workforce.models import TechnicianShift
from tests.fixtures.factories import (
    Account,
    Runner,
    add_member,
    make_locale,
    make_user,
    make_vendor,
    register_owner,
)

API = "/api/v1"
#: An instant the site's technicians work at (Monday 2030-03-04, 09:00-18:00 UTC).
AT = "2030-03-04T12:00:00Z"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"jobs_inline": True, "embedded_scheduler": False}


@dataclass
class Site:
    """A client with one locale and its people, a vendor, and another client's people."""

    owner: Account
    locale: uuid.UUID
    manager: Account
    manager2: Account
    requester: Account
    viewer: Account
    tech: Account
    vendor: uuid.UUID
    vendor_admin: Account
    vendor_tech: Account
    other_owner: Account
    other_manager: Account


def _working(run: Runner, tech: Account) -> None:
    async def create(session: AsyncSession) -> None:
        session.add(
            TechnicianShift(
                id=uuid7(),
                technician_id=tech.id,
                client_id=tech.client_id,
                vendor_id=tech.vendor_id,
                shift_type=ShiftType.working,
                starts_at=datetime(2030, 3, 4, 9, tzinfo=UTC),
                ends_at=datetime(2030, 3, 4, 18, tzinfo=UTC),
            )
        )

    run(create)


@pytest.fixture
def site(client: TestClient, run: Runner) -> Site:
    """The people of a client's locale, a vendor's, and of another client."""
    owner = register_owner(client)
    cid = owner.client_id
    assert cid is not None
    locale = make_locale(run, cid, "Mall Centro")

    def member(role: LocalRole) -> Account:
        account = make_user(client, run, role=UserRole.client_member, client_id=cid)
        add_member(run, cid, locale, account.id, role)
        return account

    manager, manager2 = member(LocalRole.manager), member(LocalRole.manager)
    requester, viewer = member(LocalRole.requester), member(LocalRole.viewer)
    tech = make_user(client, run, role=UserRole.technician, client_id=cid)
    vendor = make_vendor(run, cid, "Clima Sur")
    vendor_admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=vendor)
    vendor_tech = make_user(client, run, role=UserRole.technician, vendor_id=vendor)
    for worker in (tech, vendor_tech):
        _working(run, worker)
    other_owner = register_owner(client)
    assert other_owner.client_id is not None
    other_locale = make_locale(run, other_owner.client_id, "Otro")
    other_manager = make_user(
        client, run, role=UserRole.client_member, client_id=other_owner.client_id
    )
    add_member(run, other_owner.client_id, other_locale, other_manager.id, LocalRole.manager)
    return Site(
        owner=owner,
        locale=locale,
        manager=manager,
        manager2=manager2,
        requester=requester,
        viewer=viewer,
        tech=tech,
        vendor=vendor,
        vendor_admin=vendor_admin,
        vendor_tech=vendor_tech,
        other_owner=other_owner,
        other_manager=other_manager,
    )


def run_job(client: TestClient, name: str, **kwargs: Any) -> None:
    """Run a job now, in the app's loop and its own transaction."""
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(lambda: jobs.run(name, **kwargs))  # type: ignore[union-attr]


def inbox(client: TestClient, account: Account, **query: Any) -> list[dict[str, Any]]:
    """The account's notifications (first page)."""
    response = client.get(f"{API}/notifications", params=query, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def raise_ticket(client: TestClient, account: Account, locale: uuid.UUID) -> dict[str, Any]:
    """Raise a ticket through the API."""
    body = {"title": "Aire acondicionado sin frío", "locale_id": str(locale)}
    response = client.post(f"{API}/tickets", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def assign(
    client: TestClient,
    account: Account,
    ticket_id: str,
    tech: Account,
    vendor: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Assign a technician (working at :data:`AT`) through the API."""
    body: dict[str, Any] = {"technician_id": str(tech.id), "at": AT}
    if vendor is not None:
        body["vendor_id"] = str(vendor)
    response = client.post(f"{API}/tickets/{ticket_id}/assign", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- a real HTTP receiver -----------------------------------------------------------------------


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A small HTTP server on 127.0.0.1 recording what it receives and answering ``status``."""

    url: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])


def _start(receiver: Receiver) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            self.send_response(receiver.status)
            for key, value in receiver.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver; its ``url`` is ``http://127.0.0.1:<port>``."""
    found = Receiver()
    server, thread = _start(found)
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    """Another receiver (a redirect's target)."""
    found = Receiver()
    server, thread = _start(found)
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
