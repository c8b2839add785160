"""Password policy: refuse short, single-class, common or email-equal passwords."""

from __future__ import annotations

import string

from kerops.core.errors import Unprocessable, field_error
from kerops.core.i18n import gettext

MIN_LENGTH = 10
MAX_LENGTH = 128

_COMMON = frozenset(
    [
        "password",
        "password1",
        "password123",
        "passw0rd",
        "123456789",
        "1234567890",
        "12345678910",
        "qwerty123",
        "qwertyuiop",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "iloveyou123",
        "admin12345",
        "administrator",
        "welcome123",
        "letmein123",
        "abc1234567",
        "changeme123",
        "trustno1234",
        "football123",
        "baseball123",
        "sunshine123",
        "princess123",
        "dragon12345",
        "monkey12345",
        "superman123",
        "contrasena",
        "contraseña123",
        "chile12345",
        "kerops12345",
        "password12",
        "qwerty1234",
        "asdfghjkl1",
        "zxcvbnm123",
        "11111111111",
        "00000000000",
    ]
)


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Why a password is too weak (empty list when acceptable), in the current language."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(gettext("must be at least {length} characters long", length=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(gettext("must be at most {length} characters long", length=MAX_LENGTH))
    classes = sum(
        any(c in chars for c in password)
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + any(not c.isalnum() for c in password)
    if classes < 2:
        problems.append(
            gettext("must mix at least two kinds of characters (letters, digits, symbols)")
        )
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) <= 2:
        problems.append(gettext("is too common"))
    if email:
        local = email.lower().split("@")[0]
        if lowered == email.lower() or (len(local) >= 4 and lowered == local):
            problems.append(gettext("must not be your email address"))
    return problems


def validate_password(password: str, email: str | None = None) -> None:
    """Raise a 422 naming every problem of a weak password."""
    problems = password_problems(password, email)
    if problems:
        raise Unprocessable(
            gettext("The password is too weak: {problems}.", problems="; ".join(problems)),
            code="weak_password",
            errors=[field_error(("body", "password"), p, "weak_password") for p in problems],
        )
