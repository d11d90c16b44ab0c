"""OAuth tokens: one per credential set, shared by every worker, minted single-flight."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from sqlalchemy.engine import Engine

from apg.crypto import SecretBox
from apg.processors.mpesa.tokens.base import CachedToken, EpochClock, SharedTokenStore, TokenStore
from apg.processors.mpesa.tokens.database import DatabaseTokenStore, OAuthToken
from apg.processors.mpesa.tokens.memory import MemoryTokenStore
from apg.processors.mpesa.tokens.redis_store import RedisTokenStore
from apg.settings import Settings

__all__ = [
    "CachedToken",
    "DatabaseTokenStore",
    "MemoryTokenStore",
    "OAuthToken",
    "RedisTokenStore",
    "SharedTokenStore",
    "TokenStore",
    "make_token_store",
]


def make_token_store(
    settings: Settings, engine: Engine, box: SecretBox, *, clock: EpochClock = time.time
) -> TokenStore:
    """Redis when settings.app.redis_url is set, else the app's database. Does no I/O."""
    if settings.app.redis_url:
        import redis

        timeout = settings.performance.connect_timeout_seconds
        client = redis.Redis.from_url(
            settings.app.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return RedisTokenStore(client, box, clock=clock)
    return DatabaseTokenStore(engine, box, clock=clock)


# --- Transitional: the old per-process cache, until client.py, processor.py and create_app
# use TokenStore. Delete this block in the commit that switches them.


class TokenCache(Protocol):
    def get(self, key: str) -> CachedToken | None: ...

    def put(self, key: str, token: CachedToken) -> None: ...

    def discard(self, key: str, value: str) -> None: ...

    def lock(self, key: str) -> threading.Lock: ...


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
