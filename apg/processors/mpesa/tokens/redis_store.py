"""RedisTokenStore: the token in a Redis hash that expires with it, the lease a `SET NX PX`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from apg.crypto import SecretBox
from apg.processors.mpesa.tokens.base import EpochClock, SharedTokenStore

if TYPE_CHECKING:
    from redis import Redis

# Lua keeps each check-and-write atomic. KEYS[1] is the token hash, KEYS[2] the lease.
_PUBLISH = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'value_enc', ARGV[2], 'expires_at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
return 1
"""
_RELEASE = "if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end"
_FORGET = (
    "if redis.call('HGET', KEYS[1], 'value_enc') == ARGV[1] then redis.call('DEL', KEYS[1]) end"
)


class RedisTokenStore(SharedTokenStore):
    """Tokens in Redis hashes that expire with the token; the lease is `SET NX PX`, so a dead
    holder's lease lapses by itself. Keys are `{prefix}{key}` (hash-tagged for Redis Cluster)."""

    def __init__(
        self,
        client: Redis,
        box: SecretBox,
        clock: EpochClock = time.time,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.05,
        wait_seconds: float = 20.0,
        prefix: str = "apg:oauth:",
    ) -> None:
        super().__init__(box, clock, lease_seconds, poll_seconds, wait_seconds)
        self._redis = client
        self._prefix = prefix
        self._publish_script = client.register_script(_PUBLISH)
        self._release_script = client.register_script(_RELEASE)
        self._forget_script = client.register_script(_FORGET)

    def _keys(self, key: str) -> list[str]:
        return [f"{self._prefix}{{{key}}}", f"{self._prefix}{{{key}}}:lease"]

    def _load(self, key: str) -> tuple[str, float] | None:
        ciphertext, expires_at = self._redis.hmget(self._keys(key)[0], ["value_enc", "expires_at"])
        if ciphertext is None or expires_at is None:
            return None
        return _text(ciphertext), float(_text(expires_at))

    def _claim(self, key: str, owner: str, buffer_seconds: float) -> bool:
        if not self._redis.set(self._keys(key)[1], owner, nx=True, px=_ms(self._lease)):
            return False
        if self._fresh_value(key, buffer_seconds) is None:
            return True
        self._release(key, owner)  # published between our read and our claim: reuse it
        return False

    def _publish(self, key: str, owner: str, ciphertext: str, expires_at: float) -> bool:
        ttl = _ms(expires_at - self._clock())
        args: list[str | int] = [owner, ciphertext, repr(expires_at), ttl]
        return bool(self._publish_script(keys=self._keys(key), args=args))

    def _release(self, key: str, owner: str) -> None:
        self._release_script(keys=self._keys(key), args=[owner])

    def _forget(self, key: str, ciphertext: str) -> None:
        self._forget_script(keys=self._keys(key), args=[ciphertext])


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
