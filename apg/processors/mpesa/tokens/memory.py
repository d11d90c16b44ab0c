"""MemoryTokenStore: one process's threads share a token (tests, single-process tools)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from apg.processors.mpesa.tokens.base import CachedToken, EpochClock


class MemoryTokenStore:
    """Shares tokens between the threads of one process; a lock per key makes minting single."""

    def __init__(self, clock: EpochClock = time.time) -> None:
        self._clock = clock
        self._tokens: dict[str, CachedToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def token(self, key: str, mint: Callable[[], CachedToken], *, buffer_seconds: float) -> str:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._tokens.get(key)
            if cached is None or not cached.fresh(self._clock(), buffer_seconds):
                cached = mint()
                with self._guard:  # invalidate() checks and deletes under the same guard
                    self._tokens[key] = cached
            return cached.value

    def invalidate(self, key: str, value: str) -> None:
        with self._guard:
            cached = self._tokens.get(key)
            if cached is not None and cached.value == value:
                del self._tokens[key]
