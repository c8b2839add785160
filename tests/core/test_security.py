"""Access tokens verified once per process: a token seen before only has its times checked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kerops.core import security as security_module
from kerops.core.security import JWT_LEEWAY_SECONDS, Security, TokenError
from kerops.main import create_app
from tests.conftest import make_settings
from tests.fixtures.factories import register_owner


@pytest.fixture
def security(tmp_path: Path) -> Security:
    return Security(make_settings(tmp_path, None))


def _token(security: Security, ttl: timedelta = timedelta(minutes=10), **claims: object) -> str:
    return security.encode_jwt({"sub": "someone", "typ": "access", **claims}, ttl)


def test_a_verified_token_is_not_verified_again(
    security: Security, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(security)
    first = security.decode_jwt(token, typ="access")

    def no_second_check(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the signature was checked again")

    monkeypatch.setattr(security_module.jwt, "decode", no_second_check)
    again = security.decode_jwt(token, typ="access")
    assert again == first
    again["sub"] = "changed by a caller"  # a copy: the kept claims stay as verified
    assert security.decode_jwt(token, typ="access")["sub"] == "someone"


def test_a_kept_token_expires_on_time(security: Security, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token(security, ttl=timedelta(minutes=1))
    expires = security.decode_jwt(token, typ="access")["exp"]
    # within the leeway after its expiry it is still good; past it, refused and forgotten
    monkeypatch.setattr(security_module, "_clock", lambda: expires + JWT_LEEWAY_SECONDS - 1)
    assert security.decode_jwt(token, typ="access")["exp"] == expires
    monkeypatch.setattr(security_module, "_clock", lambda: expires + JWT_LEEWAY_SECONDS)
    with pytest.raises(TokenError, match="expired"):
        security.decode_jwt(token, typ="access")
    assert ("access", token) not in security._verified


def test_a_kept_token_from_the_future_is_refused(
    security: Security, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _token(security)
    issued = security.decode_jwt(token, typ="access")["nbf"]
    # a clock set back (another worker's, say) sees a token not valid yet
    monkeypatch.setattr(security_module, "_clock", lambda: issued - JWT_LEEWAY_SECONDS - 1)
    with pytest.raises(TokenError, match="not valid yet"):
        security.decode_jwt(token, typ="access")


def test_what_failed_is_never_kept(security: Security) -> None:
    good = _token(security)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(TokenError):
            security.decode_jwt(tampered, typ="access")
    refresh = security.encode_jwt({"sub": "someone", "typ": "refresh"}, timedelta(minutes=5))
    for _ in range(2):
        with pytest.raises(TokenError):
            security.decode_jwt(refresh, typ="access")
    # a token kept as one kind is not taken as another
    security.decode_jwt(refresh, typ="refresh")
    with pytest.raises(TokenError):
        security.decode_jwt(refresh, typ="access")
    assert set(security._verified) == {("refresh", refresh)}


def test_the_kept_tokens_are_bounded(security: Security, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security_module, "VERIFIED_TOKENS_KEPT", 3)
    tokens = [_token(security, n=n) for n in range(4)]
    for token in tokens:
        security.decode_jwt(token, typ="access")
    assert len(security._verified) <= 3
    assert ("access", tokens[-1]) in security._verified


def test_an_expired_kept_token_gets_401_over_http(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = register_owner(client)
    headers = {"Authorization": f"Bearer {owner.tokens['access_token']}"}
    me = client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    state = client.app.state.kerops  # type: ignore[attr-defined]
    expires = state.security.decode_jwt(owner.tokens["access_token"], typ="access")["exp"]
    monkeypatch.setattr(security_module, "_clock", lambda: expires + JWT_LEEWAY_SECONDS + 1)
    refused = client.get("/api/v1/auth/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"


def test_fastapi_telemetry_follows_the_setting(tmp_path: Path) -> None:
    off = create_app(make_settings(tmp_path / "off", None))
    on = create_app(make_settings(tmp_path / "on", None, opentelemetry=True))
    kinds = ("tracing", "metrics", "logs", "operation_spans")
    assert [off._telemetry[k] for k in kinds] == [False] * 4  # type: ignore[literal-required]
    assert [on._telemetry[k] for k in kinds] == [True] * 4  # type: ignore[literal-required]
