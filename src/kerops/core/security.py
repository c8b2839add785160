"""Cryptographic helpers: argon2id passwords, signed JWTs, token hashing, secret encryption."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from kerops.config import Settings
from kerops.core.types import utcnow

JWT_ALGORITHM = "HS256"
#: Seconds of clock skew allowed on a token's ``exp`` and ``nbf``.
JWT_LEEWAY_SECONDS = 5
#: Verified tokens kept by ``Security.decode_jwt`` (emptied when full).
VERIFIED_TOKENS_KEPT = 10_000


class TokenError(Exception):
    """A token is malformed, badly signed, expired or of the wrong kind."""


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy token (API keys, refresh tokens): indexed lookup, no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token."""
    return secrets.token_urlsafe(nbytes)


def random_digits(length: int) -> str:
    """A random numeric code of ``length`` digits."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings without leaking timing."""
    return hmac.compare_digest(a.encode(), b.encode())


class Security:
    """Password hashing, JWT signing and secret encryption bound to one app's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        secret = settings.resolved_secret_key()
        self._password_hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_kib,
                    parallelism=settings.argon2_parallelism,
                ),
            )
        )
        self._jwt_key = OctKey.import_key(_derive(secret, b"kerops-jwt"))
        self._signing_key = _derive(secret, b"kerops-signatures")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"kerops-secrets")))
        self._dummy_hash = self._password_hash.hash(secrets.token_urlsafe(16))
        #: Signs the short-lived cookie that carries OIDC state during a single sign-on.
        self.session_secret = base64.urlsafe_b64encode(_derive(secret, b"kerops-session")).decode()
        #: Tokens whose signature and fixed claims were checked: (typ, token) -> (claims,
        #: nbf, exp). Only the times are checked again when the same token comes back.
        self._verified: dict[tuple[str, str], tuple[dict[str, Any], float, float]] = {}

    def hash_password(self, password: str) -> str:
        """Hash a password with argon2id."""
        return self._password_hash.hash(password)

    def verify_password(self, password: str, password_hash: str | None) -> bool:
        """Check a password; always spends the same time, also for accounts without one."""
        if not password_hash:
            self._password_hash.verify(password, self._dummy_hash)
            return False
        try:
            return self._password_hash.verify(password, password_hash)
        except Exception:  # a malformed stored hash never authenticates
            return False

    def sign(self, message: str) -> str:
        """A signature of ``message`` by this service (HMAC-SHA256, URL-safe, unpadded)."""
        digest = hmac.new(self._signing_key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify_signature(self, message: str, signature: str) -> bool:
        """Whether ``signature`` is this service's ``sign(message)`` (in constant time)."""
        return constant_time_equals(self.sign(message), signature)

    def encode_jwt(self, claims: dict[str, Any], ttl: timedelta) -> str:
        """Sign a JWT with the service's issuer, audience, issue and expiry times."""
        now = utcnow()
        payload = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(
            {"alg": JWT_ALGORITHM}, payload, self._jwt_key, algorithms=[JWT_ALGORITHM]
        )

    def decode_jwt(self, token: str, *, typ: str) -> dict[str, Any]:
        """Verify signature and claims (exp, nbf, iss, aud, typ) of a JWT; raise TokenError.

        A token verified before (the same string, so the same signature and claims) is not
        verified again: only its times (``exp``, ``nbf``, ``iat``) are checked against the clock.
        Every request of a signed-in user carries the same access token for its lifetime.
        """
        key = (typ, token)
        seen = self._verified.get(key)
        if seen is not None:
            claims, not_before, expires = seen
            now = _clock()
            if expires <= now - JWT_LEEWAY_SECONDS:
                self._verified.pop(key, None)
                raise TokenError("expired_token: The token is expired")
            if not_before > now + JWT_LEEWAY_SECONDS:
                raise TokenError("invalid_token: The token is not valid yet")
            return dict(claims)
        try:
            decoded = jwt.decode(token, self._jwt_key, algorithms=[JWT_ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                leeway=JWT_LEEWAY_SECONDS,
                iss={"essential": True, "value": self.settings.jwt_issuer},
                aud={"essential": True, "value": self.settings.jwt_audience},
                exp={"essential": True},
                sub={"essential": True},
                typ={"essential": True, "value": typ},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise TokenError(str(exc)) from exc
        claims = dict(decoded.claims)
        times = (claims["exp"], claims.get("nbf", 0), claims.get("iat", 0))
        if all(_is_time(value) for value in times):
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                self._verified.clear()
            # (nbf and iat alike: neither may lie in the future)
            self._verified[key] = (claims, float(max(times[1:])), float(times[0]))
        return dict(claims)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a secret for storage (identity provider client secrets)."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt a stored secret."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenError("cannot decrypt secret (was the secret key changed?)") from exc


def _clock() -> int:
    """Whole seconds since the epoch (the clock token times are checked against)."""
    return int(time.time())


def _is_time(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())
