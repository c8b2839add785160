"""Idempotent POSTs: a retry with the same ``Idempotency-Key`` answers as the first request."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from fastapi import APIRouter, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kerops.config import Settings
from kerops.core.deps import PrincipalDep, SessionDep
from kerops.core.jobs import REGISTRY, load_job_modules
from kerops.core.routing import mount_flat
from kerops.core.types import utcnow
from kerops.idempotency.http import adapt_route, supports_keys
from kerops.idempotency.models import IdempotencyKey
from kerops.idempotency.repository import lock_id
from kerops.main import create_app
from kerops.operations.models import ServiceTicket, TicketAttachment
from kerops.tenancy.models import Locale
from tests.conftest import USE_PG, run_in_app
from tests.fixtures.factories import PASSWORD, Account, Runner, register_owner
from tests.fixtures.live_server import serve
from tests.fixtures.tenancy import make_team

API = "/api/v1"
LOCALES = f"{API}/locales"
N = 20


def keyed(account: Account, key: str) -> dict[str, str]:
    """The account's credentials with an idempotency key."""
    return {**account.headers, "Idempotency-Key": key}


def count(run: Runner, model: type[Any]) -> int:
    async def counted(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return int(run(counted))


def expire_keys(run: Runner) -> None:
    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )

    run(expire)


# --- replays ------------------------------------------------------------------------------------


def test_a_retry_with_the_key_replays_the_first_answer_and_creates_nothing(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)
    first = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k-1"))
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert count(run, Locale) == 1


def test_a_replay_repeats_the_answers_status_type_and_location_only(settings: Settings) -> None:
    router = APIRouter()

    @router.post("/made", status_code=202)
    async def made(principal: PrincipalDep, session: SessionDep) -> Response:
        headers = {"Location": f"/made/{uuid.uuid4()}", "X-Other": "1"}
        return Response(b"made", status_code=202, media_type="text/plain", headers=headers)

    app = create_app(settings)
    mount_flat(app, API, [router], adapt=adapt_route)
    with TestClient(app) as client:
        owner = register_owner(client)
        first, again = (client.post(f"{API}/made", headers=keyed(owner, "k")) for _ in range(2))
    assert (first.status_code, first.content) == (202, b"made")
    assert (again.status_code, again.content) == (202, b"made")
    assert again.headers["location"] == first.headers["location"]
    assert (
        again.headers["content-type"]
        == first.headers["content-type"]
        == "text/plain; charset=utf-8"
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert "x-other" not in again.headers


def test_a_key_recorded_meanwhile_rolls_the_request_back_as_in_progress(
    settings: Settings,
) -> None:
    router = APIRouter()

    @router.post("/slipped", status_code=201)
    async def slipped(principal: PrincipalDep, session: SessionDep) -> dict[str, str]:
        # As if a concurrent request with the key had committed while this one ran.
        now = utcnow()
        row = {"caller": f"user:{principal.user_id}", "key": "k", "fingerprint": "0" * 64}
        row |= {"status_code": 201, "headers": {}, "body": b"", "created_at": now}
        await session.execute(insert(IdempotencyKey).values(expires_at=now, **row))
        session.add(Locale(client_id=principal.client_id, name="Local Norte"))
        return {}

    app = create_app(settings)
    mount_flat(app, API, [router], adapt=adapt_route)
    with TestClient(app) as client:
        owner = register_owner(client)
        answer = client.post(f"{API}/slipped", headers=keyed(owner, "k"))
        run = run_in_app(client)
        assert answer.status_code == 409
        assert answer.json()["code"] == "idempotency_key_in_progress"
        assert (count(run, IdempotencyKey), count(run, Locale)) == (0, 0)


def test_without_the_key_every_post_creates(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    for _ in range(2):
        response = client.post(LOCALES, json={"name": "Local Norte"}, headers=owner.headers)
        assert response.status_code == 201
    assert count(run, Locale) == 2


def test_an_upload_with_the_key_is_stored_once(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    ticket = client.post(
        f"{API}/tickets",
        json={"title": "Gotera", "locale_id": str(team.locale1)},
        headers=team.manager.headers,
    ).json()
    url = f"{API}/tickets/{ticket['id']}/attachments"
    answers = [
        client.post(
            url,
            files={"file": ("nota.txt", b"hello there\n", "application/octet-stream")},
            headers=keyed(team.manager, "upload-1"),
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201], answers[0].text
    assert answers[1].json() == answers[0].json()
    assert count(run, TicketAttachment) == 1
    content = client.get(f"{url}/{answers[0].json()['id']}/content", headers=team.manager.headers)
    assert content.content == b"hello there\n"  # the fingerprint left the file to be read whole
    other_file = client.post(
        url,
        files={"file": ("nota.txt", b"other bytes\n", "application/octet-stream")},
        headers=keyed(team.manager, "upload-1"),
    )
    assert other_file.status_code == 422
    assert other_file.json()["code"] == "idempotency_key_reused"


# --- the same key for another request -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (LOCALES, {"name": "Local Sur"}),  # another body
        # (another query: no POST declares one, and an undeclared one is refused before the key)
    ],
)
def test_the_key_of_another_request_is_422_and_changes_nothing(
    client: TestClient, run: Runner, path: str, body: dict[str, Any]
) -> None:
    owner = register_owner(client)
    first = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    assert first.status_code == 201
    reused = client.post(path, json=body, headers=keyed(owner, "k"))
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    assert count(run, Locale) == 1


def test_the_key_on_another_route_is_422(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    first = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(team.owner, "k"))
    assert first.status_code == 201
    ticket = {"title": "Gotera", "locale_id": str(team.locale1)}
    reused = client.post(f"{API}/tickets", json=ticket, headers=keyed(team.owner, "k"))
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert count(run, ServiceTicket) == 0


# --- whose key ----------------------------------------------------------------------------------


def test_the_same_key_of_another_user_is_independent(client: TestClient, run: Runner) -> None:
    first, second = register_owner(client), register_owner(client)
    answers = [
        client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "shared"))
        for owner in (first, second)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert "idempotent-replayed" not in answers[1].headers
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert count(run, Locale) == 2


def test_an_api_key_has_keys_of_its_own(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    created = client.post(
        f"{API}/api-keys", json={"name": "ERP", "scopes": ["read", "write"]}, headers=owner.headers
    )
    api_key = {"X-API-Key": created.json()["key"], "Idempotency-Key": "k"}
    by_user = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    by_key = client.post(LOCALES, json={"name": "Local Norte"}, headers=api_key)
    assert (by_user.status_code, by_key.status_code) == (201, 201)
    assert by_user.json()["id"] != by_key.json()["id"]
    replayed = client.post(LOCALES, json={"name": "Local Norte"}, headers=api_key)
    assert replayed.json() == by_key.json()
    assert count(run, Locale) == 2


# --- expiry and the sweep -----------------------------------------------------------------------


def test_an_expired_key_is_new_again(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    first = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    expire_keys(run)
    again = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert count(run, Locale) == 2
    # The key now names the second request, for 24 hours again.
    replayed = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    assert replayed.json()["id"] == again.json()["id"]


def test_a_key_is_kept_for_24_hours(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    before = utcnow()
    client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))

    async def stored(session: AsyncSession) -> IdempotencyKey:
        return (await session.execute(select(IdempotencyKey))).scalar_one()

    row = run(stored)
    assert row.caller == f"user:{owner.id}"
    assert before + timedelta(hours=24) <= row.expires_at <= utcnow() + timedelta(hours=24)


def test_the_sweep_deletes_expired_keys_only(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "old"))
    expire_keys(run)
    client.post(LOCALES, json={"name": "Local Sur"}, headers=keyed(owner, "new"))
    jobs = client.app.state.kerops.jobs  # type: ignore[attr-defined]
    client.portal.call(jobs.run, "idempotency.sweep")  # type: ignore[union-attr]

    async def keys(session: AsyncSession) -> list[str]:
        return list((await session.execute(select(IdempotencyKey.key))).scalars())

    assert run(keys) == ["new"]


def test_the_sweep_is_a_periodic_job_of_the_app() -> None:
    load_job_modules()
    assert REGISTRY["idempotency.sweep"].every_seconds == 3600


# --- failures are not kept ----------------------------------------------------------------------


def test_a_post_failing_validation_keeps_no_key(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    bad = client.post(LOCALES, json={"name": ""}, headers=keyed(owner, "k"))
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"
    assert count(run, IdempotencyKey) == 0
    fixed = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


def test_a_post_refused_by_the_service_keeps_no_key(client: TestClient, run: Runner) -> None:
    team = make_team(client, run)
    foreign = {"title": "Gotera", "locale_id": str(uuid.uuid4())}
    refused = client.post(f"{API}/tickets", json=foreign, headers=keyed(team.manager, "k"))
    assert refused.status_code == 404
    assert count(run, IdempotencyKey) == 0
    fixed = {"title": "Gotera", "locale_id": str(team.locale1)}
    created = client.post(f"{API}/tickets", json=fixed, headers=keyed(team.manager, "k"))
    assert created.status_code == 201
    assert count(run, ServiceTicket) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "ñandú".encode()])
def test_a_key_must_be_1_to_255_visible_ascii_characters(
    client: TestClient, run: Runner, key: str | bytes
) -> None:
    owner = register_owner(client)
    headers: dict[str, str | bytes] = {**owner.headers, "Idempotency-Key": key}
    response = client.post(LOCALES, json={"name": "Local Norte"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert count(run, Locale) == 0


def test_a_key_of_255_characters_is_taken(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    key = "~" * 255
    answers = [
        client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, key))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert count(run, Locale) == 1


# --- routes whose answers are never replayed -----------------------------------------------------


def test_sign_in_and_credential_routes_refuse_the_key(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    refresh = owner.tokens["refresh_token"]
    calls: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("/auth/login", {"email": owner.email, "password": PASSWORD}, {}),
        ("/auth/refresh", {"refresh_token": refresh}, {}),
        ("/auth/register", {"email": "x@example.cl", "password": PASSWORD, "full_name": "X"}, {}),
        ("/auth/otp/request", {"email": owner.email}, {}),
        ("/auth/otp/verify", {"email": owner.email, "code": "123456"}, {}),
        ("/users/invitations/accept", {"token": "t", "password": PASSWORD}, {}),
        ("/auth/logout", {}, owner.headers),
        ("/api-keys", {"name": "ERP", "scopes": ["read"]}, owner.headers),
        ("/webhooks", {"url": "https://example.com/h"}, owner.headers),
        ("/iot-devices", {"name": "Sensor"}, owner.headers),
    ]
    for path, body, headers in calls:
        response = client.post(API + path, json=body, headers={**headers, "Idempotency-Key": "k"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "idempotency_not_supported", path
    form = {"username": owner.email, "password": PASSWORD}
    token = client.post(f"{API}/auth/token", data=form, headers={"Idempotency-Key": "k"})
    assert token.status_code == 400
    assert count(run, IdempotencyKey) == 0
    # The refresh token was not spent by the refused call.
    assert client.post(f"{API}/auth/refresh", json={"refresh_token": refresh}).status_code == 200


def test_two_logins_are_two_sessions(client: TestClient) -> None:
    owner = register_owner(client)
    body = {"email": owner.email, "password": PASSWORD}
    tokens = [client.post(f"{API}/auth/login", json=body).json() for _ in range(2)]
    assert tokens[0]["refresh_token"] != tokens[1]["refresh_token"]


def _post_routes(client: TestClient) -> list[APIRoute]:
    return [
        r
        for r in client.app.routes  # type: ignore[attr-defined]
        if isinstance(r, APIRoute) and "POST" in (r.methods or ())
    ]


def test_every_post_that_answers_a_credential_refuses_the_key(client: TestClient) -> None:
    secret_fields = {"key", "secret", "credential", "access_token", "refresh_token", "token"}
    routes = _post_routes(client)
    assert routes
    for route in routes:
        model = route.response_model
        fields = set(getattr(model, "model_fields", {}))
        if fields & secret_fields:
            assert not supports_keys(route), route.path


def test_the_openapi_document_declares_the_header_on_supporting_posts_only(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    supported = 0
    for route in _post_routes(client):
        if not route.include_in_schema:  # the pages' forms (the scan page's report)
            continue
        operation = document["paths"][route.path]["post"]
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert ("Idempotency-Key" in names) is supports_keys(route), route.path
        supported += supports_keys(route)
    assert supported > 30
    auth_routes = [r for r in _post_routes(client) if r.path.startswith(f"{API}/auth/")]
    assert auth_routes
    assert not any(supports_keys(r) for r in auth_routes)


# --- no cost without the header -----------------------------------------------------------------


def test_a_post_without_the_key_sends_no_statement_about_keys(
    client: TestClient, run: Runner
) -> None:
    team = make_team(client, run)
    engine = client.app.state.kerops.db.engine.sync_engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        body = {"title": "Gotera", "locale_id": str(team.locale1)}
        assert client.post(f"{API}/tickets", json=body, headers=team.manager.headers).is_success
        without = len(statements)
        body = {"title": "Gotera 2", "locale_id": str(team.locale1)}
        keyed_answer = client.post(f"{API}/tickets", json=body, headers=keyed(team.manager, "k"))
        assert keyed_answer.is_success
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert without > 0
    # (The sync log's own lock, ``pg_advisory_xact_lock``, orders every commit of tickets.)
    key_lock = "pg_try_advisory_xact_lock"
    assert not any("idempotency_keys" in s or key_lock in s for s in statements[:without])
    assert any("idempotency_keys" in s for s in statements[without:])


# --- concurrency --------------------------------------------------------------------------------


def _check_one_winner(answers: list[httpx2.Response | Any]) -> Any:
    """Exactly one answer created; every other one is its replay or a 409 in progress."""
    created = [a for a in answers if a.is_success and "idempotent-replayed" not in a.headers]
    assert len(created) == 1, [(a.status_code, a.text) for a in answers]
    first = created[0]
    for answer in answers:
        if answer is first:
            continue
        if answer.status_code == 409:
            assert answer.json()["code"] == "idempotency_key_in_progress"
        else:
            assert answer.status_code == 201, answer.text
            assert answer.headers["idempotent-replayed"] == "true"
            assert answer.content == first.content
    return first


def test_twenty_concurrent_requests_on_a_live_server_create_one_ticket(
    client: TestClient, run: Runner, settings: Settings
) -> None:
    team = make_team(client, run)
    body = {"title": "Gotera", "locale_id": str(team.locale1)}
    answers: list[httpx2.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(N)
    with serve(create_app(settings)) as base_url:

        def send() -> None:
            with httpx2.Client(base_url=base_url, trust_env=False, timeout=60) as http:
                barrier.wait()
                response = http.post(f"{API}/tickets", json=body, headers=keyed(team.manager, "k"))
            with lock:
                answers.append(response)

        threads = [threading.Thread(target=send) for _ in range(N)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == N
    _check_one_winner(answers)
    assert count(run, ServiceTicket) == 1


def test_twenty_concurrent_requests_in_process_create_one_locale(
    client: TestClient, run: Runner
) -> None:
    owner = register_owner(client)
    answers: list[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(N)

    def send() -> None:
        barrier.wait()
        response = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_one_winner(answers)
    assert count(run, Locale) == 1


@pytest.mark.skipif(not USE_PG, reason="SQLite serialises writers: a second request waits")
def test_a_key_in_flight_is_409_in_progress(client: TestClient, run: Runner) -> None:
    owner = register_owner(client)
    db = client.app.state.kerops.db  # type: ignore[attr-defined]

    async def held() -> Any:
        # Another transaction holding the key, as a request still running with it would.
        async with db.engine.connect() as conn, conn.begin():
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(f"user:{owner.id}", "k")}
            )
            return await client_call()

    async def client_call() -> Any:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(
            lambda: client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
        )

    response = client.portal.call(held)  # type: ignore[union-attr]
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert count(run, Locale) == 0
    retried = client.post(LOCALES, json={"name": "Local Norte"}, headers=keyed(owner, "k"))
    assert retried.status_code == 201
