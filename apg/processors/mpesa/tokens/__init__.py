"""OAuth tokens: one per credential set, shared by every worker, minted single-flight."""

from __future__ import annotations

import time

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
