"""Schemas of users and vendors."""

from __future__ import annotations

import uuid
from datetime import datetime

from kerops.core.enums import SubscriptionPlan, UserRole
from kerops.core.schemas import ReadModel


class UserRead(ReadModel):
    """A user as others may see them (never the password hash)."""

    id: uuid.UUID
    email: str
    phone: str | None
    full_name: str
    role: UserRole
    client_id: uuid.UUID | None
    vendor_id: uuid.UUID | None
    plan: SubscriptionPlan
    skills: list[str]
    is_active: bool
    language: str
    timezone: str
    email_verified_at: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
