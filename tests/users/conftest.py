"""Shared set-up of the users tests: one client with a locale, a manager and a technician."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from kerops.core.enums import LocalRole, UserRole
from tests.fixtures.factories import (
    Account,
    Runner,
    add_member,
    make_locale,
    make_user,
    register_owner,
)


@dataclass
class Team:
    """A client: its owner, a locale with a manager, and a technician outside any locale."""

    owner: Account
    locale: uuid.UUID
    manager: Account
    technician: Account

    @property
    def client_id(self) -> uuid.UUID:
        """The client's id."""
        assert self.owner.client_id is not None
        return self.owner.client_id


def make_team(client: TestClient, run: Runner) -> Team:
    """Create a client with a locale, a manager of it and a technician."""
    owner = register_owner(client)
    assert owner.client_id is not None
    locale = make_locale(run, owner.client_id)
    manager = make_user(client, run, role=UserRole.client_member, client_id=owner.client_id)
    add_member(run, owner.client_id, locale, manager.id, LocalRole.manager)
    technician = make_user(client, run, role=UserRole.technician, client_id=owner.client_id)
    return Team(owner=owner, locale=locale, manager=manager, technician=technician)


@pytest.fixture
def team(client: TestClient, run: Runner) -> Team:
    """Client A."""
    return make_team(client, run)


@pytest.fixture
def other_team(client: TestClient, run: Runner) -> Team:
    """Client B, which must never reach client A."""
    return make_team(client, run)
