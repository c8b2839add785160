"""Routes under /clients: a client organisation, and handing its ownership over."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, require_scope
from kerops.core.documents import Document
from kerops.core.principal import Principal
from kerops.users import clients
from kerops.users.models import Client
from kerops.users.schemas import ClientRead, ClientUpdate, OwnershipTransfer

router = APIRouter(prefix="/clients", tags=["clients"])

CLIENT_DOCUMENT = Document(Client, ClientRead)
#: Handing a client over is an administrator's act: an API key needs the ``admin`` scope.
OwnerDep = Annotated[Principal, Depends(require_scope("admin"))]


@router.get("/{client_id}", response_model=ClientRead)
async def get_client(client_id: uuid.UUID, reader: ReaderDep) -> Response:
    """Your client (its owner, plan and name); staff: any client."""
    return await reader.respond(CLIENT_DOCUMENT, client_id)


@router.patch("/{client_id}", response_model=ClientRead)
async def update_client(
    client_id: uuid.UUID, body: ClientUpdate, principal: PrincipalDep, session: SessionDep
) -> Client:
    """Change your client's settings: its default `language`, the one its people are answered
    in when they chose none and their browser names neither Spanish nor English (the owner and
    admins; staff: any client)."""
    return await clients.update_client(
        session, principal=principal, client_id=client_id, changes=body
    )


@router.post("/{client_id}/transfer-ownership", response_model=ClientRead)
async def transfer_ownership(
    client_id: uuid.UUID, body: OwnershipTransfer, principal: OwnerDep, session: SessionDep
) -> Client:
    """Hand the client over to one of its active admins (the owner only; an API key needs the
    admin scope): they become its owner and you its admin; nothing else changes."""
    return await clients.transfer_ownership(
        session, principal=principal, client_id=client_id, user_id=body.user_id
    )
