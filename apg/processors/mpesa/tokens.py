"""OAuth token cache, one token per credential set, refreshed a buffer before expiry.

In-process for now; the interface is what a shared (Redis) cache will implement so that
all workers use one token, since Daraja may revoke a token when a new one is minted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CachedToken:
    value: str
    expires_at: float  # epoch seconds

    def fresh(self, now: float, buffer_seconds: float) -> bool:
        return now < self.expires_at - buffer_seconds


class TokenCache(Protocol):
    def get(self, key: str) -> CachedToken | None: ...

    def put(self, key: str, token: CachedToken) -> None: ...

    def discard(self, key: str, value: str) -> None:
        """Forget `value` if it is still the cached token (another thread may have refreshed)."""

    def lock(self, key: str) -> threading.Lock:
        """A lock held while minting, so one caller fetches and the rest wait for it."""


class InMemoryTokenCache:
    def __init__(self) -> None:
        self._tokens: dict[str, CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str) -> CachedToken | None:
        return self._tokens.get(key)

    def put(self, key: str, token: CachedToken) -> None:
        self._tokens[key] = token

    def discard(self, key: str, value: str) -> None:
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and current.value == value:
                del self._tokens[key]

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())
