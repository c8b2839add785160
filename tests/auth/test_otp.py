"""Login by one-time code: delivery, single use, attempt limit, expiry, secrecy, rate limits."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.auth import otp
from kerops.auth.models import OtpCode
from kerops.core.enums import UserRole
from kerops.core.errors import Unauthorized
from kerops.core.mail import OutboxSender, OutgoingMessage
from kerops.core.types import utcnow
from kerops.users.models import User
from tests.conftest import as_platform
from tests.fixtures.factories import Runner, make_user, register_owner, unique_email

REQUEST = "/api/v1/auth/otp/request"
VERIFY = "/api/v1/auth/otp/verify"
ACCEPTED = {"detail": "If an account exists, a code has been sent."}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Generous rate limits, so the tests below meet only the limits they are about."""
    return {"otp_rate_limit": "100/minute", "otp_ip_rate_limit": "1000/minute"}


def _outbox(client: TestClient) -> OutboxSender:
    sender = client.app.state.kerops.sender  # type: ignore[attr-defined]
    assert isinstance(sender, OutboxSender)
    return sender


def _code_of(message: OutgoingMessage | None) -> str:
    assert message is not None, "no message was sent"
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


def _request_code(client: TestClient, email: str) -> str:
    response = client.post(REQUEST, json={"email": email})
    assert response.status_code == 202, response.text
    return _code_of(_outbox(client).last_to(email))


def _codes(run: Runner, destination: str) -> list[OtpCode]:
    async def load(session: AsyncSession) -> list[OtpCode]:
        stmt = select(OtpCode).where(OtpCode.destination == destination)
        return list((await session.execute(stmt.order_by(OtpCode.created_at))).scalars())

    result: list[OtpCode] = run(load)
    return result


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_is_delivered_and_logs_in_once(client: TestClient) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    message = _outbox(client).last_to(owner.email)
    assert message is not None and message.channel == "email"

    response = client.post(VERIFY, json={"email": owner.email, "code": code})
    assert response.status_code == 200, response.text
    tokens = response.json()
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["email"] == owner.email

    again = client.post(VERIFY, json={"email": owner.email, "code": code})
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_otp"


def test_code_is_stored_consumed_after_use(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    assert client.post(VERIFY, json={"email": owner.email, "code": code}).status_code == 200
    [stored] = _codes(run, owner.email)
    assert stored.consumed_at is not None
    assert stored.user_id == owner.id and stored.purpose == "login" and stored.channel == "email"


def test_wrong_code_five_times_kills_the_code(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    for _ in range(5):
        response = client.post(VERIFY, json={"email": owner.email, "code": _wrong(code)})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
    # every wrong try was kept although its answer was an error
    [stored] = _codes(run, owner.email)
    assert stored.attempts == 5
    right = client.post(VERIFY, json={"email": owner.email, "code": code})
    assert right.status_code == 401
    assert _codes(run, owner.email)[0].attempts == 5


def test_a_wrong_try_is_counted(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    assert client.post(VERIFY, json={"email": owner.email, "code": _wrong(code)}).status_code == 401
    assert _codes(run, owner.email)[0].attempts == 1
    # a few wrong tries under the limit do not stop the right code
    assert client.post(VERIFY, json={"email": owner.email, "code": code}).status_code == 200


def test_expired_code_is_refused(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)

    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(OtpCode)
            .where(OtpCode.destination == owner.email)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    run(expire)
    response = client.post(VERIFY, json={"email": owner.email, "code": code})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_otp"


def test_unknown_email_gets_the_same_answer_and_no_message(client: TestClient) -> None:
    email = unique_email("nobody")
    response = client.post(REQUEST, json={"email": email})
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    assert _outbox(client).last_to(email) is None
    assert client.post(VERIFY, json={"email": email, "code": "123456"}).status_code == 401


def test_known_email_gets_the_same_answer(client: TestClient) -> None:
    owner = register_owner(client)
    response = client.post(REQUEST, json={"email": owner.email})
    assert response.status_code == 202
    assert response.json() == ACCEPTED


def test_deactivated_account_gets_the_same_answer_and_no_message(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == owner.id).values(is_active=False))

    run(deactivate)
    response = client.post(REQUEST, json={"email": owner.email})
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    assert _outbox(client).last_to(owner.email) is None
    assert _codes(run, owner.email) == []


def test_code_of_an_account_deactivated_since_is_refused(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == owner.id).values(is_active=False))

    run(deactivate)
    assert client.post(VERIFY, json={"email": owner.email, "code": code}).status_code == 401


def test_new_request_invalidates_the_previous_code(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    first = _request_code(client, owner.email)
    second = _request_code(client, owner.email)
    if first == second:  # one chance in a million: draw again
        second = _request_code(client, owner.email)
    assert client.post(VERIFY, json={"email": owner.email, "code": first}).status_code == 401
    assert client.post(VERIFY, json={"email": owner.email, "code": second}).status_code == 200
    assert all(c.consumed_at is not None for c in _codes(run, owner.email))


def test_phone_login(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    account = make_user(client, run, role=UserRole.technician, client_id=owner.client_id)
    phone = f"+569{uuid.uuid4().int % 10**8:08d}"

    async def set_phone(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == account.id).values(phone=phone))

    run(set_phone)
    # written with spaces, as people type it
    typed = f"{phone[:3]} {phone[3]} {phone[4:8]} {phone[8:]}"
    response = client.post(REQUEST, json={"phone": typed})
    assert response.status_code == 202 and response.json() == ACCEPTED
    message = _outbox(client).last_to(phone)
    assert message is not None and message.channel == "sms"
    code = _code_of(message)
    response = client.post(VERIFY, json={"phone": phone, "code": code})
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["id"] == str(account.id)


def test_unknown_phone_gets_the_same_answer_and_no_message(client: TestClient) -> None:
    outbox = _outbox(client)
    sent = len(outbox.outbox)
    response = client.post(REQUEST, json={"phone": "+56 9 0000 0001"})
    assert response.status_code == 202 and response.json() == ACCEPTED
    assert len(outbox.outbox) == sent


def test_stored_row_never_holds_the_code_in_clear(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    [stored] = _codes(run, owner.email)
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    # not a plain hash of the code either: it is keyed by the service secret
    import hashlib

    assert stored.code_hash != hashlib.sha256(code.encode()).hexdigest()
    for value in vars(stored).values():
        assert str(value) != code


def test_exactly_one_destination_is_required(client: TestClient) -> None:
    email = unique_email()
    for body in ({}, {"email": email, "phone": "+56 9 1234 5678"}):
        assert client.post(REQUEST, json=body).status_code == 422
    assert client.post(REQUEST, json={"email": email, "extra": 1}).status_code == 422
    assert client.post(VERIFY, json={"email": email}).status_code == 422
    assert client.post(VERIFY, json={"email": email, "code": "12ab56"}).status_code == 422


@pytest.mark.parametrize(
    "settings_overrides", [{"otp_rate_limit": "3/minute", "otp_ip_rate_limit": "1000/minute"}]
)
def test_code_requests_are_rate_limited_per_account(client: TestClient) -> None:
    email = unique_email("nobody")
    for _ in range(3):
        assert client.post(REQUEST, json={"email": email}).status_code == 202
    response = client.post(REQUEST, json={"email": email})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == "rate_limited"
    # another account is not affected
    assert client.post(REQUEST, json={"email": unique_email()}).status_code == 202


@pytest.mark.parametrize(
    "settings_overrides", [{"otp_rate_limit": "3/minute", "otp_ip_rate_limit": "1000/minute"}]
)
def test_code_verifies_are_rate_limited_per_account(client: TestClient) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    for _ in range(3):
        response = client.post(VERIFY, json={"email": owner.email, "code": _wrong(code)})
        assert response.status_code == 401
    response = client.post(VERIFY, json={"email": owner.email, "code": code})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    "settings_overrides", [{"otp_rate_limit": "100/minute", "otp_ip_rate_limit": "4/minute"}]
)
def test_code_requests_are_rate_limited_per_client_address(client: TestClient) -> None:
    for _ in range(4):
        assert client.post(REQUEST, json={"email": unique_email()}).status_code == 202
    response = client.post(REQUEST, json={"email": unique_email()})
    assert response.status_code == 429
    assert "retry-after" in response.headers


def _verify_concurrently(client: TestClient, email: str, codes: list[str]) -> list[bool]:
    """Spend ``codes`` at the same time, each in its own transaction, as requests would."""
    state = client.app.state.kerops  # type: ignore[attr-defined]
    destination = otp.destination_of(email=email, phone=None)

    async def one(code: str) -> bool:
        async with state.db.sessions() as session:
            try:
                await otp.verify_login_code(session, state, destination=destination, code=code)
            except Unauthorized as exc:
                await (session.commit() if exc.keep_changes else session.rollback())
                return False
            await session.commit()
            return True

    async def all_at_once() -> list[bool]:
        return list(await asyncio.gather(*(one(c) for c in codes)))

    # (As the verify route: finding the code crosses clients.)
    result: list[bool] = client.portal.call(as_platform(all_at_once))  # type: ignore[union-attr]
    return result


def test_concurrent_wrong_tries_never_exceed_the_limit(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    assert not any(_verify_concurrently(client, owner.email, [_wrong(code)] * 12))
    assert _codes(run, owner.email)[0].attempts == 5
    assert client.post(VERIFY, json={"email": owner.email, "code": code}).status_code == 401


def test_concurrent_verifies_spend_a_code_once(client: TestClient) -> None:
    owner = register_owner(client)
    code = _request_code(client, owner.email)
    assert sum(_verify_concurrently(client, owner.email, [code] * 5)) == 1
