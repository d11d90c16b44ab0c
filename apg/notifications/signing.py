"""Webhook signatures: `APG-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

Dependency-free on purpose (hmac, hashlib, time): merchants copy verify_signature as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "APG-Signature"
SCHEME = "v1"


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The APG-Signature header value for `payload` sent at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SCHEME}={digest}"


def verify_signature(
    payload: bytes, header: str, secret: str, tolerance: int = 300, now: float | None = None
) -> bool:
    """True when `header` signs `payload` with `secret` within `tolerance` seconds of `now`.

    Any v1 signature in the header may match (one per secret while a secret rotates); the
    comparison is constant-time, and a stale (or future) timestamp is refused, so a captured
    request cannot be replayed later.
    """
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(payload, secret, timestamp).rpartition("=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
