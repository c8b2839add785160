"""What users plugs into core: the rules of people and vendors, and the people count of the
plans."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select

from kerops.core import access, limits
from kerops.core.access import Action
from kerops.core.enums import UserRole
from kerops.core.principal import Principal
from kerops.users.models import Client, User, Vendor


@access.rule(User)
def _users(p: Principal, action: Action) -> ColumnElement[bool]:
    own = User.id == p.user_id
    if p.is_client_admin:
        if action == "read":
            # Owners also see the people of their private contractors (managed by the vendor).
            private_vendors = select(Vendor.id).where(Vendor.client_id == p.client_id)
            return or_(
                own,
                User.client_id == p.client_id,
                User.vendor_id.in_(private_vendors.scalar_subquery()),
            )
        return or_(own, User.client_id == p.client_id)
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return or_(own, User.vendor_id == p.vendor_id)
    if action == "read" and p.reaches_every_locale("read"):
        # A client-wide manager or viewer shares every locale with the client's people.
        return or_(own, User.client_id == p.client_id)
    # Members also read the people who share one of their locales (tenancy adds them).
    return own


@access.rule(Vendor)
def _vendors(p: Principal, action: Action) -> ColumnElement[bool]:
    own_vendor = Vendor.id == p.vendor_id if p.vendor_id is not None else false()
    own_client = Vendor.client_id == p.client_id if p.client_id is not None else false()
    if action == "write":
        if p.is_client_admin:
            return own_client
        if p.role is UserRole.vendor_admin:
            return own_vendor
        return false()
    return or_(Vendor.client_id.is_(None), own_client, own_vendor)


limits.count_rows(User, "users")


@access.rule(Client)
def _clients(p: Principal, action: Action) -> ColumnElement[bool]:
    # Its people read their client; it changes only by handing ownership over (its owner).
    if action == "read" and p.client_id is not None:
        return Client.id == p.client_id
    return false()
