"""The all-routes isolation harness: two clients, A (the victim) and B (the outsiders).

Every route of the app must appear either in ``PUBLIC`` (with a reason) or in a ``CASES`` dict of
some ``tests/**/isolation_cases.py`` module, keyed by ``(METHOD, "/api/v1/path/{param}")``.
A case says how to aim the route at A's objects; the test then calls it as every outsider and
proves the answer is 403/404 (or, for lists, 200 without any of A's ids) and that A's data did
not change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from kerops.core.enums import ClientRole, LocalRole, UserRole
from tests.fixtures.factories import (
    Account,
    Runner,
    add_member,
    make_area,
    make_locale,
    make_user,
    make_vendor,
    register_owner,
)


@dataclass
class World:
    """Client A with its objects, and the outsiders who must not reach them."""

    client: TestClient
    run: Runner
    a_owner: Account
    a_manager: Account
    a_requester: Account
    a_technician: Account
    a_locale: uuid.UUID
    a_area: uuid.UUID
    a_member: uuid.UUID
    a_vendor: uuid.UUID
    b_owner: Account
    b_manager: Account
    b_requester: Account
    b_technician: Account
    b_admin: Account
    b_client_manager: Account
    b_client_viewer: Account
    b_locale: uuid.UUID
    x_vendor: uuid.UUID
    x_vendor_admin: Account
    a_ids: set[str] = field(default_factory=set)
    cache: dict[str, Any] = field(default_factory=dict)

    def remember(self, *ids: Any) -> None:
        """Note ids of A's objects, which must never appear in an outsider's answer."""
        self.a_ids.update(str(i) for i in ids)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """Create an object of A at most once per world (cases share it)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    @property
    def outsiders(self) -> dict[str, Account]:
        """Everyone who must not reach A's data."""
        return {
            "b_owner": self.b_owner,
            "b_manager": self.b_manager,
            "b_requester": self.b_requester,
            "b_technician": self.b_technician,
            "b_admin": self.b_admin,
            "b_client_manager": self.b_client_manager,
            "b_client_viewer": self.b_client_viewer,
            "x_vendor_admin": self.x_vendor_admin,
        }


def client_wide(
    client: TestClient, run: Runner, client_id: uuid.UUID, client_role: ClientRole
) -> Account:
    """A member of the client with a client-wide role (and no locale membership)."""
    return make_user(
        client, run, role=UserRole.client_member, client_id=client_id, client_role=client_role
    )


def build_world(client: TestClient, run: Runner) -> World:
    """Create clients A and B, their locales, members (B's also client-wide: an admin, a
    manager and a viewer of every locale), technicians and vendors."""
    a_owner = register_owner(client)
    assert a_owner.client_id is not None
    a_locale = make_locale(run, a_owner.client_id, "A Centro")
    a_area = make_area(run, a_owner.client_id, a_locale, "A Piso 1")
    a_manager = make_user(client, run, role=UserRole.client_member, client_id=a_owner.client_id)
    a_requester = make_user(client, run, role=UserRole.client_member, client_id=a_owner.client_id)
    a_technician = make_user(client, run, role=UserRole.technician, client_id=a_owner.client_id)
    a_member = add_member(run, a_owner.client_id, a_locale, a_manager.id, LocalRole.manager)
    add_member(run, a_owner.client_id, a_locale, a_requester.id, LocalRole.requester)
    a_vendor = make_vendor(run, a_owner.client_id, "A Private Contractor")

    b_owner = register_owner(client)
    assert b_owner.client_id is not None
    b_locale = make_locale(run, b_owner.client_id, "B Centro")
    b_manager = make_user(client, run, role=UserRole.client_member, client_id=b_owner.client_id)
    b_requester = make_user(client, run, role=UserRole.client_member, client_id=b_owner.client_id)
    b_technician = make_user(client, run, role=UserRole.technician, client_id=b_owner.client_id)
    b_admin = client_wide(client, run, b_owner.client_id, ClientRole.admin)
    b_client_manager = client_wide(client, run, b_owner.client_id, ClientRole.manager)
    b_client_viewer = client_wide(client, run, b_owner.client_id, ClientRole.viewer)
    add_member(run, b_owner.client_id, b_locale, b_manager.id, LocalRole.manager)
    add_member(run, b_owner.client_id, b_locale, b_requester.id, LocalRole.requester)
    x_vendor = make_vendor(run, None, "X Platform Vendor")
    x_vendor_admin = make_user(client, run, role=UserRole.vendor_admin, vendor_id=x_vendor)

    world = World(
        client=client,
        run=run,
        a_owner=a_owner,
        a_manager=a_manager,
        a_requester=a_requester,
        a_technician=a_technician,
        a_locale=a_locale,
        a_area=a_area,
        a_member=a_member,
        a_vendor=a_vendor,
        b_owner=b_owner,
        b_manager=b_manager,
        b_requester=b_requester,
        b_technician=b_technician,
        b_admin=b_admin,
        b_client_manager=b_client_manager,
        b_client_viewer=b_client_viewer,
        b_locale=b_locale,
        x_vendor=x_vendor,
        x_vendor_admin=x_vendor_admin,
    )
    world.remember(
        a_owner.id,
        a_manager.id,
        a_requester.id,
        a_technician.id,
        a_locale,
        a_area,
        a_member,
        a_vendor,
    )
    return world


Params = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """How to aim one route at client A's objects.

    ``params``: path parameters (ids of A's objects); ``body``: JSON body (for creates: one that
    names A's objects); ``files``/``form``: a multipart form; ``query``: query string;
    ``kind``: "object" (expect one of ``expect``) or
    "list" (200 allowed, but no id of A may appear; 403 also fine).
    """

    params: Params = lambda w: {}
    body: Callable[[World], Any] | None = None
    #: A multipart form's files (an upload), e.g. ``{"file": (name, bytes, type)}``.
    files: Callable[[World], dict[str, Any]] | None = None
    #: The form's other fields, sent with ``files``.
    form: dict[str, str] | None = None
    query: Callable[[World], dict[str, Any]] | None = None
    kind: str = "object"
    expect: frozenset[int] = frozenset({403, 404})


def public(reason: str) -> str:
    """Mark a route as reachable without credentials, with the reason why that is safe."""
    return reason
