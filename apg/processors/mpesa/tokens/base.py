"""The token store contract, and the single-flight loop of the stores shared by processes."""

from __future__ import annotations

import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from apg.crypto import SecretBox
from apg.errors import UpstreamUnavailableError

EpochClock = Callable[[], float]


@dataclass(frozen=True)
class CachedToken:
    value: str
    expires_at: float  # epoch seconds

    def fresh(self, now: float, buffer_seconds: float) -> bool:
        """True while more than buffer_seconds of the token's life remain."""
        return now < self.expires_at - buffer_seconds


class TokenStore(Protocol):
    def token(self, key: str, mint: Callable[[], CachedToken], *, buffer_seconds: float) -> str:
        """A token fresh for at least buffer_seconds. Mints through `mint` at most once at a time
        across every process sharing this store (others wait for it and reuse the result).
        Exceptions from `mint` propagate to the caller that ran it and release the claim."""

    def invalidate(self, key: str, value: str) -> None:
        """Daraja refused `value`: forget it, unless another caller already replaced it."""


class SharedTokenStore(ABC):
    """Single flight across processes: reuse a fresh token, else claim a lease and mint, else
    poll until the lease holder publishes (or its lease lapses and the claim can be taken over).

    Nothing is held open while `mint` runs. Subclasses make each step atomic on its own:
    `_claim` succeeds only while the token is stale and no live lease exists; `_publish` and
    `_release` act only while the caller still owns the lease; `_forget` only if the stored
    ciphertext is still the one given. Tokens are stored Fernet-encrypted: they are credentials.
    """

    def __init__(
        self,
        box: SecretBox,
        clock: EpochClock,
        lease_seconds: float,
        poll_seconds: float,
        wait_seconds: float,
    ) -> None:
        self._box = box
        self._clock = clock
        self._lease = lease_seconds
        self._poll = poll_seconds
        self._wait = wait_seconds

    def token(self, key: str, mint: Callable[[], CachedToken], *, buffer_seconds: float) -> str:
        """See TokenStore.token; raises UpstreamUnavailableError after waiting wait_seconds."""
        give_up_at = time.monotonic() + self._wait
        while True:
            value = self._fresh_value(key, buffer_seconds)
            if value is not None:
                return value
            owner = uuid.uuid4().hex
            if self._claim(key, owner, buffer_seconds):
                try:
                    minted = mint()
                except BaseException:
                    self._release(key, owner)
                    raise
                if self._publish(key, owner, self._box.encrypt(minted.value), minted.expires_at):
                    return minted.value
                continue  # our lease lapsed and a taker-over replaced us: use its token
            if time.monotonic() >= give_up_at:
                raise UpstreamUnavailableError(
                    "Timed out waiting for another worker to fetch an M-Pesa access token.",
                    code="daraja_token_wait_timeout",
                )
            time.sleep(self._poll)

    def invalidate(self, key: str, value: str) -> None:
        stored = self._load(key)
        if stored is not None and self._open(stored[0]) in (value, None):
            self._forget(key, stored[0])

    def _fresh_value(self, key: str, buffer_seconds: float) -> str | None:
        stored = self._load(key)
        if stored is None:
            return None
        ciphertext, expires_at = stored
        value = self._open(ciphertext)
        if value is None:
            self._forget(key, ciphertext)  # unreadable is as good as absent: mint anew
            return None
        fresh = CachedToken(value, expires_at).fresh(self._clock(), buffer_seconds)
        return value if fresh else None

    def _open(self, ciphertext: str) -> str | None:
        try:
            return self._box.decrypt(ciphertext)
        except ValueError:  # encrypted under a key that has since been retired
            return None

    @abstractmethod
    def _load(self, key: str) -> tuple[str, float] | None:
        """The stored (ciphertext, expires_at), or None."""

    @abstractmethod
    def _claim(self, key: str, owner: str, buffer_seconds: float) -> bool: ...

    @abstractmethod
    def _publish(self, key: str, owner: str, ciphertext: str, expires_at: float) -> bool: ...

    @abstractmethod
    def _release(self, key: str, owner: str) -> None: ...

    @abstractmethod
    def _forget(self, key: str, ciphertext: str) -> None: ...
