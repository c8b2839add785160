"""SLA policies of a client: response and resolution targets per ticket priority."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep
from kerops.core.documents import Document
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.operations import sla
from kerops.operations.models import SlaPolicy
from kerops.operations.sla_schemas import SlaPolicyCreate, SlaPolicyRead, SlaPolicyUpdate

router = APIRouter(tags=["sla"])

SlaPolicyPage = Annotated[PageParams, sorted_by(sla.SLA_POLICY_SORTS)]

POLICY = "/sla-policies/{policy_id}"
POLICY_DOCUMENT = Document(SlaPolicy, SlaPolicyRead)
TextFilter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")]


@router.post("/sla-policies", response_model=SlaPolicyRead, status_code=status.HTTP_201_CREATED)
async def create_policy(
    body: SlaPolicyCreate, principal: PrincipalDep, session: SessionDep
) -> SlaPolicy:
    """Create the client-wide policy, or one locale's (the client's owner, or platform staff)."""
    return await sla.create_policy(session, principal=principal, data=body)


@router.get("/sla-policies", response_model=Page[SlaPolicyRead])
async def list_policies(
    reader: ReaderDep,
    page: SlaPolicyPage,
    q: TextFilter = None,
    locale_id: uuid.UUID | None = None,
    client_wide: bool | None = None,
) -> Response:
    """The SLA policies of the caller's client (sort: name, created_at)."""
    items, cursor = await sla.list_policies(
        reader,
        params=page,
        q=q,
        locale_id=locale_id,
        client_wide=client_wide,
    )
    return await reader.respond_page(POLICY_DOCUMENT, items, cursor)


@router.get(POLICY, response_model=SlaPolicyRead)
async def get_policy(policy_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One SLA policy."""
    return await reader.respond(POLICY_DOCUMENT, policy_id)


@router.patch(POLICY, response_model=SlaPolicyRead)
async def update_policy(
    policy_id: uuid.UUID, body: SlaPolicyUpdate, principal: PrincipalDep, session: SessionDep
) -> SlaPolicy:
    """Change a policy; tickets already raised keep their deadlines."""
    return await sla.update_policy(session, principal=principal, policy_id=policy_id, data=body)


@router.delete(POLICY, status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(policy_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> None:
    """Delete a policy; new tickets fall back to the client-wide policy or the default."""
    await sla.delete_policy(session, principal=principal, policy_id=policy_id)
