"""Routes of invitations: accepting one (the invitation itself is ``POST /users/invite``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from kerops.auth import invitations
from kerops.auth.schemas import TokenPair
from kerops.core.deps import CROSS_CLIENT, SessionDep, StateDep, client_ip
from kerops.core.openapi import answers
from kerops.users.schemas import InvitationAccept

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/invitations/accept", response_model=TokenPair, dependencies=[CROSS_CLIENT])
@answers(400, 429)
async def accept_invitation(
    body: InvitationAccept, request: Request, session: SessionDep, state: StateDep
) -> TokenPair:
    """Accept an invitation: choose a password and get logged in (the link works once)."""
    await state.limiter.hit(state.settings.public_rate_limit, "invite-accept", client_ip(request))
    return await invitations.accept_invitation(
        session, state, token=body.token, password=body.password, full_name=body.full_name
    )
