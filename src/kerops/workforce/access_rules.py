"""What workforce plugs into core: the rules of shifts and certifications."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, true

from kerops.core import access
from kerops.core.access import Action, Rule
from kerops.core.enums import UserRole
from kerops.core.principal import Principal
from kerops.workforce.models import TechnicianCertification, TechnicianShift


def _register(rules: dict[Any, Rule]) -> None:
    for model, fn in rules.items():
        access.rule(model)(fn)


def workforce_predicate(
    p: Principal,
    action: Action,
    *,
    technician: Any,
    client: Any,
    vendor: Any,
    technician_writes: bool = False,
) -> Any:
    """Whose workforce records the principal reaches, over the given technician/client/vendor
    columns: an owner their client's technicians, a vendor admin their vendor's, a technician
    their own (writing only where ``technician_writes``), a site manager reads the client's."""
    if p.is_staff:
        return true()
    own = technician == p.user_id
    if p.is_client_admin and p.client_id is not None:
        return client == p.client_id
    if p.role is UserRole.vendor_admin and p.vendor_id is not None:
        return vendor == p.vendor_id
    if p.role is UserRole.technician:
        return own if action == "read" or technician_writes else false()
    if action == "read" and p.client_id is not None and p.role is UserRole.client_member:
        # Site managers plan work: they read the client's own technicians' schedules.
        is_manager = access.manages_a_locale(p)
        return (client == p.client_id) & is_manager
    return false()


def _workforce_rule(model: Any) -> Rule:
    # A technician may record (and correct, while unverified) their own certifications.
    technician_writes = model is TechnicianCertification

    def fn(p: Principal, action: Action) -> ColumnElement[bool]:
        return workforce_predicate(  # type: ignore[no-any-return]
            p,
            action,
            technician=model.technician_id,
            client=model.client_id,
            vendor=model.vendor_id,
            technician_writes=technician_writes,
        )

    return fn


_register({model: _workforce_rule(model) for model in (TechnicianShift, TechnicianCertification)})
