"""Threshold rules of IoT devices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from kerops.core.deps import PrincipalDep, SessionDep
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.iot import rules
from kerops.iot.models import IoTRule
from kerops.iot.rules_schemas import RuleCreate, RuleRead, RuleUpdate

router = APIRouter(tags=["iot"])

RulePage = Annotated[PageParams, sorted_by(rules.RULE_SORTS)]

RULES = "/iot-devices/{device_id}/rules"
RULE = RULES + "/{rule_id}"


@router.post(RULES, response_model=RuleRead, status_code=status.HTTP_201_CREATED)
async def create_rule(
    device_id: uuid.UUID, body: RuleCreate, principal: PrincipalDep, session: SessionDep
) -> IoTRule:
    """Watch a metric of the device; a trip opens a ticket for its asset."""
    return await rules.create_rule(session, principal=principal, device_id=device_id, data=body)


@router.get(RULES, response_model=Page[RuleRead])
async def list_rules(
    device_id: uuid.UUID, principal: PrincipalDep, session: SessionDep, page: RulePage
) -> dict[str, object]:
    """The device's rules with their state (sort: name, created_at)."""
    items, cursor = await rules.list_rules(
        session, principal=principal, device_id=device_id, params=page
    )
    return {"items": items, "next_cursor": cursor}


@router.get(RULE, response_model=RuleRead)
async def get_rule(
    device_id: uuid.UUID, rule_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> IoTRule:
    """One rule of the device."""
    return await rules.get_rule(session, principal=principal, device_id=device_id, rule_id=rule_id)


@router.patch(RULE, response_model=RuleRead)
async def update_rule(
    device_id: uuid.UUID,
    rule_id: uuid.UUID,
    body: RuleUpdate,
    principal: PrincipalDep,
    session: SessionDep,
) -> IoTRule:
    """Change a rule (its state is kept)."""
    return await rules.update_rule(
        session, principal=principal, device_id=device_id, rule_id=rule_id, data=body
    )


@router.delete(RULE, status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(
    device_id: uuid.UUID, rule_id: uuid.UUID, principal: PrincipalDep, session: SessionDep
) -> None:
    """Remove a rule."""
    await rules.delete_rule(session, principal=principal, device_id=device_id, rule_id=rule_id)
