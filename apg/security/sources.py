"""Where callbacks may come from: Safaricom's published addresses (security.callback_allowlist).

Daraja signs nothing (API.md §15.5), so a callback's source address is one of the few things
we can check. The list is enforced in production (403, stored raw first, replayable by ops
when Safaricom adds an address) and off in development, where the emulator calls from
loopback. Behind a proxy the address is X-Forwarded-For's, trusted only through
security.trusted_proxy_hops proxies (ProxyFix in create_app), so a client cannot claim one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from apg.settings import SecuritySettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Parse IPs and CIDR networks; raises ValueError naming the first bad entry."""
    parsed = []
    for entry in entries:
        try:
            parsed.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(parsed)


@dataclass(frozen=True)
class CallbackSources:
    allowlist: tuple[Network, ...]
    enforced: bool  # refuse callbacks from outside the allowlist

    @classmethod
    def from_settings(cls, security: SecuritySettings, production: bool) -> CallbackSources:
        enforce = security.enforce_callback_allowlist
        return cls(
            networks(security.callback_allowlist), production if enforce is None else enforce
        )

    def allowlisted(self, address: str | None) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.allowlist)

    def trusted(self, address: str | None) -> bool:
        """Never throttled: an allowlisted address, or loopback while the list is not enforced
        (development: the emulator delivers from 127.0.0.1)."""
        if self.allowlisted(address):
            return True
        ip = _ip(address)
        return not self.enforced and ip is not None and ip.is_loopback

    def refuses(self, address: str | None) -> bool:
        return self.enforced and not self.allowlisted(address)


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
