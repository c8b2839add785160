"""Cryptographic helpers: argon2id passwords, signed JWTs, token hashing, secret encryption."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
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
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"kerops-secrets")))
        self._dummy_hash = self._password_hash.hash(secrets.token_urlsafe(16))
        #: Signs the short-lived cookie that carries OIDC state during a single sign-on.
        self.session_secret = base64.urlsafe_b64encode(_derive(secret, b"kerops-session")).decode()

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
        """Verify signature and claims (exp, nbf, iss, aud, typ) of a JWT; raise TokenError."""
        try:
            decoded = jwt.decode(token, self._jwt_key, algorithms=[JWT_ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                leeway=5,
                iss={"essential": True, "value": self.settings.jwt_issuer},
                aud={"essential": True, "value": self.settings.jwt_audience},
                exp={"essential": True},
                sub={"essential": True},
                typ={"essential": True, "value": typ},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise TokenError(str(exc)) from exc
        return dict(decoded.claims)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a secret for storage (identity provider client secrets)."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt a stored secret."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise TokenError("cannot decrypt secret (was the secret key changed?)") from exc


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def expires_in(minutes: float = 0, *, days: float = 0, hours: float = 0) -> datetime:
    """A UTC time the given span from now."""
    return utcnow() + timedelta(minutes=minutes, days=days, hours=hours)
