"""Where webhooks may go: in production never to a private, loopback, link-local or otherwise
non-public address, so a merchant cannot aim the gateway at its own network (SSRF).

Checked twice: the URL's host when an endpoint is saved (an IP literal or `localhost`), and
every address the host resolves to right before each POST (a name can be re-pointed later).
Development allows them: a local receiver is how merchants try webhooks out.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

Resolve = Callable[[str], Iterable[str]]


def resolve(host: str) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


def non_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone is not part of it
    except ValueError:
        return True
    return not ip.is_global or ip.is_multicast


def literal_refusal(host: str) -> str | None:
    """Why a URL host may never receive webhooks in production (no DNS lookup), or None."""
    if host.lower().rstrip(".") in {"localhost", "localhost.localdomain"}:
        return f"{host} is this machine"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None  # a name: checked when resolved, before each POST
    return f"{host} is not a public address" if non_public(host.strip("[]")) else None


def resolved_refusal(host: str, lookup: Resolve = resolve) -> str | None:
    """Why a POST to `host` must not go now (it resolves to a non-public address), or None."""
    try:
        addresses = list(lookup(host))
    except OSError as exc:
        return f"{host} does not resolve ({exc.strerror or type(exc).__name__})"
    refused = [address for address in addresses if non_public(address)]
    return f"{host} resolves to a non-public address ({refused[0]})" if refused else None
