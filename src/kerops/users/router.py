"""Routes under /users: lists, profiles and roles, activation, invitations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response, status

from kerops.core.deps import PrincipalDep, ReaderDep, SessionDep, StateDep
from kerops.core.documents import Document
from kerops.core.enums import UserRole
from kerops.core.mail import deliver
from kerops.core.pagination import Page, PageParams, sorted_by
from kerops.users import service
from kerops.users.models import User
from kerops.users.schemas import UserInvite, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

UserPage = Annotated[PageParams, sorted_by(service.USER_SORT_FIELDS)]
USER_DOCUMENT = Document(User, UserRead)

Search = Annotated[
    str | None, Query(min_length=1, max_length=100, description="Part of the email or name")
]


@router.get("", response_model=Page[UserRead])
async def list_users(
    reader: ReaderDep,
    page: UserPage,
    role: UserRole | None = None,
    is_active: bool | None = None,
    vendor_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    q: Search = None,
) -> Response:
    """The users you may see; sort by created_at, email or full_name ('-' for descending)."""
    items, cursor = await service.list_users(
        reader,
        params=page,
        role=role,
        is_active=is_active,
        vendor_id=vendor_id,
        client_id=client_id,
        q=q,
    )
    return await reader.respond_page(USER_DOCUMENT, items, cursor)


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


@router.get("/{user_id}", response_model=UserRead)
async def get_user(user_id: uuid.UUID, reader: ReaderDep) -> Response:
    """One user."""
    return await reader.respond(USER_DOCUMENT, user_id)


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
