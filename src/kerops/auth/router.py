"""Auth endpoints: sign-up, password login, token rotation, logout, the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from kerops.auth import service, tokens
from kerops.auth.principals import CurrentUserDep
from kerops.auth.schemas import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
)
from kerops.core.conditional import one_object
from kerops.core.deps import CROSS_CLIENT, PrincipalDep, SessionDep, StateDep, client_ip
from kerops.core.errors import Unauthorized
from kerops.core.i18n import gettext
from kerops.core.openapi import answers
from kerops.core.state import AppState
from kerops.idempotency.http import not_replayable
from kerops.users.models import User
from kerops.users.schemas import UserRead
from kerops.users.service import normalise_email

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[CROSS_CLIENT])


async def _limit_login(state: AppState, request: Request, email: str) -> None:
    settings = state.settings
    await state.limiter.hit(settings.login_ip_rate_limit, "login-ip", client_ip(request))
    await state.limiter.hit(settings.login_rate_limit, "login-account", normalise_email(email))


@router.post("/register", response_model=UserRead, status_code=status.HTTP_201_CREATED)
@answers(409, 429)
async def register(
    body: RegisterRequest, request: Request, state: StateDep, session: SessionDep
) -> User:
    """Create a client account (owner) on the free plan."""
    await state.limiter.hit(state.settings.login_ip_rate_limit, "register-ip", client_ip(request))
    return await service.register_client_owner(
        session, state, email=body.email, password=body.password, full_name=body.full_name
    )


@router.post("/login", response_model=TokenPair)
@answers(401, 429)
async def login(
    body: LoginRequest, request: Request, state: StateDep, session: SessionDep
) -> TokenPair:
    """Log in with email and password; returns an access and a refresh token."""
    await _limit_login(state, request, body.email)
    user = await service.authenticate(session, state, body.email, body.password)
    return await tokens.issue_tokens(session, state, user)


@router.post("/token", response_model=TokenPair, include_in_schema=True)
@answers(401, 429)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    state: StateDep,
    session: SessionDep,
) -> TokenPair:
    """OAuth2 password flow (the form Swagger UI's Authorize button sends; username = email)."""
    await _limit_login(state, request, form.username)
    user = await service.authenticate(session, state, form.username, form.password)
    return await tokens.issue_tokens(session, state, user)


@router.post("/refresh", response_model=TokenPair)
@answers(401)
async def refresh(body: RefreshRequest, state: StateDep, session: SessionDep) -> TokenPair:
    """Rotate a refresh token; re-using a spent one revokes the whole session."""
    return await tokens.rotate(session, state, body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
@not_replayable
async def logout(body: LogoutRequest, principal: PrincipalDep, session: SessionDep) -> None:
    """End the current login session (or the one of the given refresh token, if it is yours)."""
    family_id = principal.session_id
    if body.refresh_token:
        family_id = await tokens.family_of(session, body.refresh_token)
        if family_id is None:
            raise Unauthorized(gettext("Invalid refresh token."))
    if family_id is None:
        raise Unauthorized(
            gettext("API keys have no session to log out of; revoke the key instead.")
        )
    await tokens.revoke_family(session, family_id, user_id=principal.user_id)


@router.get("/me", response_model=UserRead)
@one_object
async def me(user: CurrentUserDep) -> User:
    """The authenticated user."""
    return user
