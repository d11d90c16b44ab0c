"""Circuit breakers (pybreaker): one per M-Pesa account and Daraja base URL, shared through
Redis when it is configured. A Daraja that keeps failing is left alone until its reset timeout
has passed, then one probe decides; meanwhile callers hear at once when to try again. Each
base URL's recent calls are kept for /health too.

pybreaker holds its lock while the guarded function runs, which would queue every call of an
account behind a slow one, so the HTTP call runs outside it: `guard` before, `record` after
(pybreaker's state machine and storage count the outcome)."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pybreaker

from apg.clock import Clock
from apg.processors.mpesa.client import DarajaError, NotSentError
from apg.settings import CircuitBreakerSettings, Settings

log = logging.getLogger(__name__)

StorageFactory = Callable[["BreakerKey"], pybreaker.CircuitBreakerStorage]


@dataclass(frozen=True)
class BreakerKey:
    account_id: str
    base_url: str

    def __str__(self) -> str:
        return f"{self.account_id} {self.base_url}"


@dataclass
class UpstreamHealth:
    consecutive_failures: int = 0
    last_success_at: str | None = None
    last_failure_at: str | None = None
    last_error: str | None = None


class CircuitOpenError(NotSentError):
    """The breaker is open, so the request was not sent; a probe may go in
    `retry_after_seconds`."""

    def __init__(self, key: BreakerKey, retry_after_seconds: int) -> None:
        super().__init__(f"circuit open for {key.base_url} (next try in {retry_after_seconds} s)")
        self.retry_after_seconds = retry_after_seconds


def is_not_an_upstream_fault(error: BaseException) -> bool:
    """pybreaker's `exclude`: Daraja answering in its own words (a refusal, wrong credentials)
    counts as Daraja being up, like a success."""
    return not getattr(error, "upstream_fault", False)


def memory_storage(key: BreakerKey) -> pybreaker.CircuitBreakerStorage:
    return pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)


def redis_storage(client: Any) -> StorageFactory:
    """State in Redis, seen by every worker. `client` must return bytes (decode_responses=False,
    redis-py's default): pybreaker decodes them itself. Creating one writes the initial state."""

    def storage(key: BreakerKey) -> pybreaker.CircuitBreakerStorage:
        namespace = f"apg:circuit:{key.account_id}:{key.base_url}"
        return pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=namespace)

    return storage


class _Breaker(pybreaker.CircuitBreaker):
    """Stamps the time it opened by the app's clock (pybreaker's own is the wall clock), so
    that the reset timeout runs on the clock the rest of APG (and its tests) use."""

    def __init__(self, clock: Clock, storage: Any, **options: Any) -> None:
        super().__init__(state_storage=storage, **options)
        self.clock, self.storage = clock, storage

    def open(self) -> bool:
        with self._lock:
            trip = super().open()
            self.storage.opened_at = self.clock.now()  # Redis keeps the later of the two
            return trip


class _LogStateChanges(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        before = old_state.name if old_state else "-"
        log.warning("circuit %s: %s -> %s", cb.name, before, new_state.name)


class Breakers:
    """The breakers of one processor, created on first use. Thread-safe."""

    def __init__(
        self,
        settings: CircuitBreakerSettings,
        clock: Clock,
        storage: StorageFactory = memory_storage,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._storage = storage
        self._breakers: dict[BreakerKey, _Breaker] = {}
        self._upstreams: dict[str, UpstreamHealth] = {}
        self._lock = threading.Lock()

    def guard(self, key: BreakerKey) -> None:
        """Raise CircuitOpenError while the key's breaker is open; once its reset timeout has
        passed, half-open it: the call that follows is the probe."""
        breaker = self._get(key)
        if breaker is None or breaker.current_state != pybreaker.STATE_OPEN:
            return
        wait = self._seconds_left(breaker)
        if wait > 0:
            raise CircuitOpenError(key, wait)
        breaker.half_open()

    def record(self, key: BreakerKey, error: DarajaError | None) -> None:
        """Count the outcome of a call guard() let through: an upstream fault is a failure;
        None (an answer) or an error in Daraja's own words is a success."""
        self._note(key.base_url, error.reason if error and error.upstream_fault else None)
        breaker = self._get(key)
        if breaker is None:
            return
        if error is None and breaker.current_state == pybreaker.STATE_CLOSED:
            # The common case, without pybreaker's lock (every answer of every thread would
            # queue behind it): a closed breaker's count of failures in a row starts again.
            # One idempotent write; a probe's answer (half-open) goes through the state machine.
            breaker.storage.reset_counter()
            return

        def outcome() -> None:
            if error is not None:
                raise error

        # The caller already has the error; the listener logs a circuit that opens.
        with contextlib.suppress(pybreaker.CircuitBreakerError, DarajaError):
            breaker.call(outcome)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy unless a base URL has failed failure_threshold times in a row or a breaker
        is not closed; with each base URL's recent calls and each breaker's state."""
        with self._lock:
            upstreams = {url: vars(h).copy() for url, h in self._upstreams.items()}
        breakers = self.states()
        threshold = self._settings.failure_threshold
        healthy = all(h["consecutive_failures"] < threshold for h in upstreams.values())
        healthy = healthy and all(b["state"] == pybreaker.STATE_CLOSED for b in breakers.values())
        return healthy, {"upstreams": upstreams, "circuit_breakers": breakers}

    def states(self) -> dict[str, dict[str, Any]]:
        """Each known breaker's state (closed, open, half-open), failures in a row, and when
        open, the seconds until a probe may go."""
        with self._lock:
            known = list(self._breakers.items())
        states = {}
        for key, breaker in known:
            state: dict[str, Any] = {"state": breaker.current_state}
            state["consecutive_failures"] = breaker.fail_counter
            if state["state"] == pybreaker.STATE_OPEN:
                state["retry_after_seconds"] = max(0, self._seconds_left(breaker))
            states[str(key)] = state
        return states

    def _note(self, base_url: str, error: str | None) -> None:
        now = self._clock.now().isoformat()
        with self._lock:
            health = self._upstreams.setdefault(base_url, UpstreamHealth())
            if error is None:
                health.consecutive_failures, health.last_success_at = 0, now
            else:
                health.consecutive_failures += 1
                health.last_failure_at, health.last_error = now, error

    def _seconds_left(self, breaker: _Breaker) -> int:
        """Whole seconds until the reset timeout has passed (rounded up: never too early)."""
        opened_at = breaker.storage.opened_at
        if opened_at is None:
            return 0
        elapsed = (self._clock.now() - opened_at).total_seconds()
        return math.ceil(breaker.reset_timeout - elapsed)

    def _get(self, key: BreakerKey) -> _Breaker | None:
        if not self._settings.enabled:
            return None
        with self._lock:
            found = self._breakers.get(key)
            if found is None:
                found = self._new(key)
                if found is not None:
                    self._breakers[key] = found
            return found

    def _new(self, key: BreakerKey) -> _Breaker | None:
        try:
            return _Breaker(
                self._clock,
                self._storage(key),
                fail_max=self._settings.failure_threshold,
                reset_timeout=self._settings.reset_timeout_seconds,
                exclude=[is_not_an_upstream_fault],
                listeners=[_LogStateChanges()],
                name=str(key),
            )
        except Exception:  # e.g. Redis down: call Daraja unguarded rather than not at all
            log.exception("circuit %s: no breaker this time", key)
            return None


def make_breakers(settings: Settings, clock: Clock) -> Breakers:
    """Shared through Redis when settings.app.redis_url is set, else this process's own.
    Does no I/O."""
    if not settings.app.redis_url:
        return Breakers(settings.circuit_breaker, clock)
    import redis

    timeout = settings.performance.connect_timeout_seconds
    client = redis.Redis.from_url(
        settings.app.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return Breakers(settings.circuit_breaker, clock, redis_storage(client))
