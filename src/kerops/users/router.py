"""Routes under /users: lists, profiles and roles, activation, invitations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from kerops.auth.schemas import TokenPair
from kerops.core import access
from kerops.core.deps import CROSS_CLIENT, PrincipalDep, ReaderDep, SessionDep, StateDep, client_ip
from kerops.core.enums import UserRole
from kerops.core.mail import deliver
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.users import service
from kerops.users.models import User
from kerops.users.schemas import InvitationAccept, UserInvite, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

UserPage = Annotated[PageParams, sorted_by(service.USER_SORT_FIELDS)]
USER_DOCUMENT = access.Document(User, UserRead)

Search = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Part of the email or name")
]


@router.get("", response_model=Page[UserRead])
async def list_users(
    principal: PrincipalDep,
    session: SessionDep,
    page: UserPage,
    role: UserRole | None = None,
    is_active: bool | None = None,
    vendor_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    q: Search = None,
) -> Page[UserRead]:
    """The users you may see; sort by created_at, email or full_name ('-' for descending)."""
    rows, cursor = await service.list_users(
        session,
        principal=principal,
        params=page,
        role=role,
        is_active=is_active,
        vendor_id=vendor_id,
        client_id=client_id,
        q=q,
    )
    return Page[UserRead](items=[UserRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/invite", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def invite_user(
    body: UserInvite,
    principal: PrincipalDep,
    session: SessionDep,
    state: StateDep,
    background: BackgroundTasks,
) -> User:
    """Invite a person by email into your client (owners) or vendor (vendor admins)."""
    user, message = await service.invite_user(session, state, principal=principal, invite=body)
    background.add_task(deliver, state.sender, message)  # only once the invitation committed
    return user


@router.post("/invitations/accept", response_model=TokenPair, dependencies=[CROSS_CLIENT])
async def accept_invitation(
    body: InvitationAccept, request: Request, session: SessionDep, state: StateDep
) -> TokenPair:
    """Accept an invitation: choose a password and get logged in (the link works once)."""
    await state.limiter.hit(state.settings.public_rate_limit, "invite-accept", client_ip(request))
    return await service.accept_invitation(
        session, state, token=body.token, password=body.password, full_name=body.full_name
    )


@router.get("/{user_id}", response_model=UserRead)
async def get_user(user_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One user."""
    return await USER_DOCUMENT.respond(reader, user_id)


@router.patch("/{user_id}", response_model=UserRead)
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, principal: PrincipalDep, session: SessionDep
) -> User:
    """Change profile fields (your own, or of people you manage) and roles (managers)."""
    return await service.update_user(session, principal=principal, user_id=user_id, changes=body)


@router.post("/{user_id}/deactivate", response_model=UserRead)
async def deactivate_user(user_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> User:
    """Deactivate a user: their sessions end and their tokens and API keys stop working."""
    return await service.set_active(session, principal=principal, user_id=user_id, active=False)


@router.post("/{user_id}/activate", response_model=UserRead)
async def activate_user(user_id: uuid.UUID, principal: PrincipalDep, session: SessionDep) -> User:
    """Reactivate a user (they log in again)."""
    return await service.set_active(session, principal=principal, user_id=user_id, active=True)
