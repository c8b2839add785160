"""E-mails of sign-in: the one-time code in the account's language, and an invitation in the
language of the request inviting (which the invited person then keeps)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.core.enums import UserRole
from kerops.core.mail import OutgoingMessage
from kerops.users.models import User
from tests.fixtures.factories import Account, Runner, make_user, register_owner, unique_email

OTP_REQUEST = "/api/v1/auth/otp/request"
INVITE = "/api/v1/users/invite"


def _speaks(run: Runner, account: Account, language: str) -> None:
    async def change(session: AsyncSession) -> None:
        await session.execute(update(User).where(User.id == account.id).values(language=language))

    run(change)


def _last_to(client: TestClient, address: str) -> OutgoingMessage:
    message = client.app.state.kerops.sender.last_to(address)  # type: ignore[attr-defined]
    assert isinstance(message, OutgoingMessage), f"nothing was sent to {address}"
    return message


def _code_for(client: TestClient, run: Runner, language: str) -> OutgoingMessage:
    owner = register_owner(client)
    person = make_user(client, run, role=UserRole.technician, client_id=owner.client_id)
    _speaks(run, person, language)
    response = client.post(OTP_REQUEST, json={"email": person.email})
    assert response.status_code == 202, response.text
    return _last_to(client, person.email)


def test_a_sign_in_code_is_sent_in_spanish_to_a_spanish_speaker(
    client: TestClient, run: Runner
) -> None:
    message = _code_for(client, run, "es-CL")
    assert message.subject == "Su código de acceso a KER Ops"
    assert message.body.startswith("Su código de acceso es ")
    assert message.body.endswith(". Vence en 5 minutos.")


def test_a_sign_in_code_is_sent_in_english_to_an_english_speaker(
    client: TestClient, run: Runner
) -> None:
    message = _code_for(client, run, "en")
    assert message.subject == "Your KER Ops sign-in code"
    assert message.body.startswith("Your sign-in code is ")
    assert message.body.endswith(". It expires in 5 minutes.")


def test_an_invitation_is_written_in_spanish_by_default(client: TestClient) -> None:
    client.headers.pop("accept-language", None)
    owner = register_owner(client)
    email = unique_email("invitada")
    body = {"email": email, "full_name": "Paula Soto", "role": "technician"}
    response = client.post(INVITE, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    # They choose no language until they set one: their browser's, else their client's.
    assert response.json()["language"] is None
    message = _last_to(client, email)
    assert message.subject == "Invitación a KER Ops"
    assert message.body.startswith("Estimado(a) Paula Soto:\n\n")
    assert "Elija su contraseña aquí:\nhttp://testserver/accept-invite?token=" in message.body
    assert message.body.endswith("vence en 72 horas.")


def test_an_invitation_sent_in_english_is_in_english(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    _speaks(run, owner, "en")
    email = unique_email("invited")
    body = {"email": email, "full_name": "Paula Soto", "role": "technician"}
    response = client.post(INVITE, json=body, headers={**owner.headers, "Accept-Language": "en"})
    assert response.status_code == 201, response.text
    assert response.json()["language"] is None
    message = _last_to(client, email)
    assert message.subject == "You are invited to KER Ops"
    assert message.body.startswith("Hello Paula Soto,\n\n")
    assert "Choose your password here:\nhttp://testserver/accept-invite?token=" in message.body
    assert message.body.endswith("expires in 72 hours.")
