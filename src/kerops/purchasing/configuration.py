"""A client's purchasing configuration: its approval rules and its settings."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core import access
from kerops.core.db import flush_or_conflict
from kerops.core.errors import Conflict, Forbidden
from kerops.core.i18n import gettext
from kerops.core.pagination import PageParams
from kerops.core.principal import Principal
from kerops.core.reads import Reader
from kerops.purchasing.models import PurchaseApprovalRule, PurchasingSettings
from kerops.purchasing.schemas import (
    ApprovalRuleCreate,
    ApprovalRuleUpdate,
    PurchasingSettingsIn,
    PurchasingSettingsRead,
)

RULE_SORTS = {
    "min_total_minor": PurchaseApprovalRule.min_total_minor,
    "created_at": PurchaseApprovalRule.created_at,
}
RULE_TAKEN = "rule_taken"


def _rule_taken() -> Conflict:
    return Conflict(
        gettext("The client already has a rule for that amount and currency."), code=RULE_TAKEN
    )


def _own_client(principal: Principal, *, admins_only: bool) -> uuid.UUID:
    """The caller's client, when the caller may change its purchasing configuration (its
    admins) or run its reorder (its admins and client-wide managers)."""
    allowed = principal.is_client_admin if admins_only else principal.reaches_every_locale("write")
    if principal.client_id is None or not allowed:
        raise Forbidden(gettext("Only the client's administrators may do this."))
    return principal.client_id


def ensure_manages_purchasing(principal: Principal) -> uuid.UUID:
    """The caller's client, when the caller is one of its admins or client-wide managers."""
    return _own_client(principal, admins_only=False)


async def _ensure_free(
    session: AsyncSession,
    client_id: uuid.UUID,
    currency: str,
    minimum: int,
    exclude: uuid.UUID | None = None,
) -> None:
    stmt = select(PurchaseApprovalRule.id).where(
        PurchaseApprovalRule.client_id == client_id,
        PurchaseApprovalRule.currency == currency,
        PurchaseApprovalRule.min_total_minor == minimum,
    )
    if exclude is not None:
        stmt = stmt.where(PurchaseApprovalRule.id != exclude)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise _rule_taken()


async def create_rule(
    session: AsyncSession, *, principal: Principal, data: ApprovalRuleCreate
) -> PurchaseApprovalRule:
    """Add an approval rule to the caller's client."""
    client_id = _own_client(principal, admins_only=True)
    await _ensure_free(session, client_id, data.currency, data.min_total_minor)
    rule = PurchaseApprovalRule(client_id=client_id, **data.model_dump())
    session.add(rule)
    await flush_or_conflict(session, _rule_taken().given_detail or "", code=RULE_TAKEN)
    return rule


async def list_rules(
    reader: Reader, *, params: PageParams
) -> tuple[list[dict[str, Any]], str | None]:
    """The approval rules the caller reads."""
    return await reader.page(
        reader.rows(PurchaseApprovalRule),
        params,
        sort_fields=RULE_SORTS,
        id_column=PurchaseApprovalRule.id,
        default_sort="min_total_minor",
    )


async def update_rule(
    session: AsyncSession, *, principal: Principal, rule_id: uuid.UUID, data: ApprovalRuleUpdate
) -> PurchaseApprovalRule:
    """Change an approval rule."""
    rule = await access.get_for_write(session, PurchaseApprovalRule, rule_id, principal)
    changes = data.model_dump(exclude_unset=True)
    currency = changes.get("currency", rule.currency)
    minimum = changes.get("min_total_minor", rule.min_total_minor)
    await _ensure_free(session, rule.client_id, currency, minimum, exclude=rule.id)
    for key, value in changes.items():
        setattr(rule, key, value)
    await flush_or_conflict(session, _rule_taken().given_detail or "", code=RULE_TAKEN)
    return rule


async def delete_rule(session: AsyncSession, *, principal: Principal, rule_id: uuid.UUID) -> None:
    """Delete an approval rule."""
    rule = await access.get_for_write(session, PurchaseApprovalRule, rule_id, principal)
    await session.delete(rule)
    await session.flush()


async def _settings_row(session: AsyncSession, client_id: uuid.UUID) -> PurchasingSettings | None:
    found = await session.execute(
        select(PurchasingSettings).where(PurchasingSettings.client_id == client_id)
    )
    return found.scalar_one_or_none()


async def get_settings(reader: Reader) -> PurchasingSettingsRead:
    """The caller's client's settings (the defaults until changed)."""
    if reader.principal.client_id is None:
        raise Forbidden(gettext("Only the client's administrators may do this."))
    rows = await reader.runner.all(
        reader.rows(PurchasingSettings).where(
            PurchasingSettings.client_id == reader.principal.client_id
        )
    )
    percent = rows[0]._mapping["over_receipt_percent"] if rows else 0
    return PurchasingSettingsRead(over_receipt_percent=percent)


async def put_settings(
    session: AsyncSession, *, principal: Principal, data: PurchasingSettingsIn
) -> PurchasingSettingsRead:
    """Change the caller's client's settings."""
    client_id = _own_client(principal, admins_only=True)
    row = await _settings_row(session, client_id)
    if row is None:
        row = PurchasingSettings(client_id=client_id)
        session.add(row)
    row.over_receipt_percent = data.over_receipt_percent
    await flush_or_conflict(session, gettext("Try again."), code="conflict")
    return PurchasingSettingsRead(over_receipt_percent=row.over_receipt_percent)
