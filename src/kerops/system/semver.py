"""Semantic versions (semver 2.0.0): parsing and precedence as defined by semver.org §11.

Precedence compares MAJOR, MINOR and PATCH numerically; a pre-release version has lower
precedence than its release; pre-release identifiers compare one by one (numeric ones as numbers,
alphanumeric ones in ASCII order, numeric lower than alphanumeric, a longer list higher when all
preceding identifiers are equal). Build metadata is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

from kerops.core.errors import InvalidValue
from kerops.core.i18n import N_

# The pattern published on semver.org (no leading zeros in numeric parts, non-empty identifiers).
SEMVER_PATTERN = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_SEMVER_RE = re.compile(rf"^{SEMVER_PATTERN}$", re.ASCII)

Identifier = tuple[int, int | str]


def _identifier_key(identifier: str) -> Identifier:
    # Numeric identifiers sort before alphanumeric ones (§11.4.3), so they get the lower tag.
    return (0, int(identifier)) if identifier.isdigit() else (1, identifier)


@total_ordering
@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """A parsed semantic version; ``==`` and ``<`` follow precedence (build metadata ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    _key: tuple[object, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A release ranks above every pre-release of the same MAJOR.MINOR.PATCH (§11.3):
        # (1,) > (0, ...). Tuples compare item by item and a proper prefix ranks lower (§11.4.4).
        pre: tuple[object, ...] = (
            (0, *(_identifier_key(i) for i in self.prerelease)) if self.prerelease else (1,)
        )
        object.__setattr__(self, "_key", (self.major, self.minor, self.patch, pre))

    @property
    def precedence_key(self) -> tuple[object, ...]:
        """A sort key whose natural order is semver precedence."""
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key < other._key  # type: ignore[operator]

    def __hash__(self) -> int:
        return hash(self._key)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


def parse(text: str) -> Version:
    """Parse a semantic version string, or raise ``ValueError``."""
    match = _SEMVER_RE.match(text)
    if match is None:
        raise InvalidValue(
            N_("'{text}' is not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])"), text=text
        )
    major, minor, patch, prerelease, build = match.groups()
    return Version(
        int(major),
        int(minor),
        int(patch),
        tuple(prerelease.split(".")) if prerelease else (),
        tuple(build.split(".")) if build else (),
    )


def is_valid(text: str) -> bool:
    """Whether ``text`` is a semantic version."""
    return _SEMVER_RE.match(text) is not None


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` has lower, equal or higher precedence than ``b``."""
    va, vb = parse(a), parse(b)
    return (va > vb) - (va < vb)
