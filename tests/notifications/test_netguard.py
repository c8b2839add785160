"""The address checks outgoing requests to user-supplied URLs go through."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from kerops.core import netguard
from kerops.core.netguard import AddressKind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", AddressKind.public),
        ("2606:4700::6810:84e5", AddressKind.public),
        ("::ffff:93.184.215.14", AddressKind.public),
        ("127.0.0.1", AddressKind.private),
        ("10.1.2.3", AddressKind.private),
        ("172.16.0.1", AddressKind.private),
        ("192.168.0.1", AddressKind.private),
        ("100.64.0.1", AddressKind.private),
        ("::1", AddressKind.private),
        ("fd12::1", AddressKind.private),
        ("::ffff:127.0.0.1", AddressKind.private),
        ("64:ff9b::7f00:1", AddressKind.private),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::1", AddressKind.private),  # 6to4 of 127.0.0.1
        ("169.254.169.254", AddressKind.forbidden),
        ("fe80::1", AddressKind.forbidden),
        ("::ffff:169.254.169.254", AddressKind.forbidden),
        ("224.0.0.1", AddressKind.forbidden),
        ("ff02::1", AddressKind.forbidden),
        ("0.0.0.0", AddressKind.forbidden),
        ("::", AddressKind.forbidden),
        ("240.0.0.1", AddressKind.forbidden),
    ],
)
def test_addresses_are_classified(address: str, kind: AddressKind) -> None:
    assert netguard.classify(ipaddress.ip_address(address)) is kind


def test_names_of_this_machine_are_internal_without_resolving() -> None:
    for host in ("localhost", "LOCALHOST.", "api.localhost", "printer.local", "[::1]", "10.0.0.1"):
        assert netguard.is_internal_host(host)
    assert not netguard.is_internal_host("example.cl")


def test_a_name_is_resolved_before_it_is_allowed() -> None:
    async def check() -> None:
        with pytest.raises(netguard.UnsafeTarget) as refused:
            await netguard.check_url("http://localhost/x", allow_private=False)
        assert refused.value.code == "url_host"
        target = await netguard.check_url("http://localhost:81/x", allow_private=True)
        assert "127.0.0.1" in target.addresses and target.port == 81
        public = await netguard.check_url("https://93.184.215.14/x", allow_private=False)
        assert public.addresses == ("93.184.215.14",) and public.port == 443

    asyncio.run(check())
