"""Outgoing requests to user-supplied URLs: which addresses the server may connect to (SSRF).

Identity-provider issuers and webhook targets are URLs that someone outside the platform chooses.
Before the server connects to one it resolves the host and refuses addresses inside the network:
loopback, private (RFC 1918, unique-local, carrier-grade NAT), link-local (cloud metadata),
multicast, reserved and unspecified ones, in IPv4 and IPv6, unwrapping IPv4 addresses carried in
IPv6 (mapped, 6to4, NAT64).
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The NAT64 well-known prefix (RFC 6052): its last 32 bits are an IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: Names that always mean this machine or the local network, whatever DNS says.
_LOCAL_NAMES = ("localhost",)
_LOCAL_SUFFIXES = (".localhost", ".local")


class AddressKind(enum.StrEnum):
    """Where an address points, for the purpose of connecting to it."""

    public = "public"
    #: Loopback and private ranges: reachable only when private targets are allowed (on-premise).
    private = "private"
    #: Link-local (metadata services), multicast, unspecified and reserved: never a target.
    forbidden = "forbidden"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify(ip: IPAddress) -> AddressKind:
    """Whether the server may connect to ``ip``: public, private (on-premise only) or never."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return classify(embedded)
    if ip.is_loopback:
        return AddressKind.private
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return AddressKind.forbidden
    if ip.is_private or not ip.is_global:
        return AddressKind.private
    return AddressKind.public


def parse_address(address: str) -> IPAddress | None:
    """The IP address written in ``address`` (a zone index is dropped), or None for a name."""
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_internal_address(address: str) -> bool:
    """Whether ``address`` is an IP literal that is not a public unicast address."""
    ip = parse_address(address)
    return ip is not None and classify(ip) is not AddressKind.public


def is_local_name(host: str) -> bool:
    """Whether ``host`` names this machine or the local network (``localhost``, ``*.local``)."""
    host = host.strip("[]").lower().rstrip(".")
    return host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES)


def is_internal_host(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal) is obviously internal without resolving it."""
    return is_local_name(host) or is_internal_address(host)


async def resolve(host: str, port: int, *, resolve_seconds: float = 5.0) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal: itself); [] when it does not."""
    literal = parse_address(host)
    if literal is not None:
        return [str(literal)]
    try:
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
            timeout=resolve_seconds,
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


class UnsafeTarget(ValueError):
    """A URL the server must not connect to; ``code`` says why in one word."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: its parts and the addresses it may be reached at (the first is used)."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _parts(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("The URL is not valid.", "url_invalid") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeTarget("The URL must be http or https.", "url_scheme")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("The URL must not carry credentials.", "url_credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("The URL has no host.", "url_invalid")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _refusal(address: str, *, allow_private: bool) -> str | None:
    ip = parse_address(address)
    if ip is None:
        return "not an address"
    kind = classify(ip)
    if kind is AddressKind.public or (kind is AddressKind.private and allow_private):
        return None
    return kind.value


async def check_url(url: str, *, allow_private: bool, resolve_seconds: float = 5.0) -> Target:
    """Refuse a URL the server must not call (scheme, credentials, internal addresses); resolve
    its host and return the addresses it may be reached at. Raises :class:`UnsafeTarget`."""
    scheme, host, port = _parts(url)
    if is_local_name(host) and not allow_private:
        raise UnsafeTarget("The URL points at this machine or the local network.", "url_host")
    addresses = await resolve(host, port, resolve_seconds=resolve_seconds)
    if not addresses:
        raise UnsafeTarget(f"The host {host!r} does not resolve.", "url_unresolvable")
    refused = [a for a in addresses if _refusal(a, allow_private=allow_private)]
    if refused:
        # One internal answer is enough to refuse: a resolver may return any of them next time.
        raise UnsafeTarget(
            "The URL resolves to an internal address (loopback, private, link-local, multicast "
            "or reserved).",
            "url_host",
        )
    return Target(scheme=scheme, host=host, port=port, addresses=tuple(addresses))
