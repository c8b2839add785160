"""Routes under /auth/otp: login with a one-time code sent by email or SMS."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, BackgroundTasks, Request, status

from kerops.auth import otp, tokens
from kerops.auth.otp_schemas import OtpAccepted, OtpRequest, OtpVerify
from kerops.auth.schemas import TokenPair
from kerops.core.deps import CROSS_CLIENT, SessionDep, StateDep, client_ip
from kerops.core.mail import deliver
from kerops.core.openapi import answers
from kerops.core.state import AppState

router = APIRouter(prefix="/auth/otp", tags=["auth"], dependencies=[CROSS_CLIENT])

log = structlog.get_logger("kerops.auth.otp")


async def _limit(state: AppState, request: Request, action: str, address: str) -> None:
    settings = state.settings
    await state.limiter.hit(settings.otp_ip_rate_limit, f"otp-{action}-ip", client_ip(request))
    await state.limiter.hit(settings.otp_rate_limit, f"otp-{action}-account", address)


@router.post("/request", response_model=OtpAccepted, status_code=status.HTTP_202_ACCEPTED)
@answers(429)
async def request_code(
    body: OtpRequest,
    request: Request,
    background: BackgroundTasks,
    state: StateDep,
    session: SessionDep,
) -> OtpAccepted:
    """Send a login code to an account's email or phone (the answer never tells if it exists)."""
    destination = otp.destination_of(email=body.email, phone=body.phone)
    await _limit(state, request, "request", destination.address)
    message = await otp.request_login_code(session, state, destination=destination)
    if message is not None:
        background.add_task(deliver, state.sender, message)
    return OtpAccepted(detail=otp.REQUEST_ACCEPTED)


@router.post("/verify", response_model=TokenPair)
@answers(401, 429)
async def verify_code(
    body: OtpVerify, request: Request, state: StateDep, session: SessionDep
) -> TokenPair:
    """Trade a login code for an access and a refresh token (each code works once)."""
    destination = otp.destination_of(email=body.email, phone=body.phone)
    await _limit(state, request, "verify", destination.address)
    user = await otp.verify_login_code(session, state, destination=destination, code=body.code)
    return await tokens.issue_tokens(session, state, user)
