"""Enums shared across modules (stored as their string values)."""

from __future__ import annotations

import enum


class UserRole(enum.StrEnum):
    """A user's global role; locale-level roles come from ``local_members``."""

    super_admin = "super_admin"  # platform staff (KER): everything
    client_owner = "client_owner"  # owns a client account and its locales
    client_member = "client_member"  # belongs to a client; rights per locale via local_members
    technician = "technician"  # works tickets assigned to them (KER, client or vendor)
    vendor_admin = "vendor_admin"  # manages one vendor's users


class SubscriptionPlan(enum.StrEnum):
    """A client's subscription plan; limits per plan live in ``plan_limits``."""

    free = "free"
    basic = "basic"
    pro = "pro"
    enterprise = "enterprise"


class LocalRole(enum.StrEnum):
    """A user's role within one locale (``local_members.role``)."""

    manager = "manager"  # full rights within the locale
    requester = "requester"  # raises and follows own tickets
    viewer = "viewer"  # reads
