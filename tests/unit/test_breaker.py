"""Circuit breakers per account and Daraja base URL: what opens one (only Daraja failing), how it
answers while open, the probe that closes it, and its state shared through Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pybreaker
import pytest
import redis

from apg.clock import Clock
from apg.config import load_settings
from apg.crypto import DEV_ENCRYPTION_KEY, SecretBox
from apg.payments import ports
from apg.processors.mpesa.accounts import Credentials, Shortcode
from apg.processors.mpesa.breaker import BreakerKey, Breakers, CircuitOpenError
from apg.processors.mpesa.client import (
    CredentialsRejectedError,
    DarajaError,
    NotSentError,
    OutcomeUnknownError,
    RefusedError,
)
from apg.processors.mpesa.processor import MpesaProcessor
from apg.processors.mpesa.tokens import MemoryTokenStore
from apg.settings import CircuitBreakerSettings
from tests.support.servers import ScriptedDaraja, closed_port_url

REDIS_URL = os.environ.get("TEST_REDIS_URL")
SETTINGS = CircuitBreakerSettings(enabled=True, failure_threshold=3, reset_timeout_seconds=30)
KEY = BreakerKey("mpa_1", "https://api.safaricom.co.ke")
SIMULATE = "/mpesa/c2b/v1/simulate"

REFUSED = NotSentError("connection refused or host not found", upstream_fault=True)
HTML_503 = OutcomeUnknownError("HTTP 503 without Daraja's error body", upstream_fault=True)
TIMED_OUT = OutcomeUnknownError("no answer in time", timed_out=True, upstream_fault=True)


class FixedClock(Clock):
    """The app's clock, moved only by the test (pybreaker's own, the wall clock, is not used)."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def breakers(clock: FixedClock) -> Breakers:
    return Breakers(SETTINGS, clock)


def fail(
    breakers: Breakers, times: int, error: DarajaError = REFUSED, key: BreakerKey = KEY
) -> None:
    for _ in range(times):
        breakers.guard(key)
        breakers.record(key, error)


def state(breakers: Breakers, key: BreakerKey = KEY) -> Any:
    return breakers.states()[str(key)]


@pytest.mark.parametrize("error", [REFUSED, HTML_503, TIMED_OUT], ids=["refused", "5xx", "timeout"])
def test_consecutive_upstream_faults_open_it(breakers: Breakers, error: DarajaError) -> None:
    fail(breakers, 2, error)
    assert state(breakers) == {"state": "closed", "consecutive_failures": 2}
    fail(breakers, 1, error)
    assert state(breakers) == {
        "state": "open",
        "consecutive_failures": 3,
        "retry_after_seconds": 30,
    }


@pytest.mark.parametrize(
    "error",
    [
        RefusedError("400.002.02", "Bad Request - Invalid PhoneNumber"),
        RefusedError("500.001.1001", "Wrong credentials"),
        RefusedError("500.001.1001", "Unable to lock subscriber"),
        RefusedError("500.003.02", "Error Occurred: Spike Arrest Violation"),
        CredentialsRejectedError("Invalid Credentials"),
        OutcomeUnknownError("HTTP 200 with an undecodable body"),
        NotSentError("invalid base URL"),
    ],
    ids=["bad-field", "wrong-credentials", "busy", "throttled", "oauth", "garbled", "our-url"],
)
def test_daraja_answering_in_its_own_words_never_opens_it(
    breakers: Breakers, error: DarajaError
) -> None:
    fail(breakers, 10, error)
    assert state(breakers)["state"] == "closed"


def test_an_answer_resets_the_count(breakers: Breakers) -> None:
    fail(breakers, 2)
    breakers.record(KEY, RefusedError("500.001.1001", "Wrong credentials"))
    fail(breakers, 2)
    assert state(breakers) == {"state": "closed", "consecutive_failures": 2}


def test_open_it_refuses_at_once_and_counts_down(breakers: Breakers, clock: FixedClock) -> None:
    fail(breakers, 3)
    clock.advance(12.5)
    with pytest.raises(CircuitOpenError) as info:
        breakers.guard(KEY)
    assert info.value.retry_after_seconds == 18  # rounded up: never too early
    assert "circuit open" in info.value.reason and KEY.base_url in info.value.reason


def test_after_the_reset_timeout_one_success_closes_it(
    breakers: Breakers, clock: FixedClock
) -> None:
    fail(breakers, 3)
    clock.advance(30)
    breakers.guard(KEY)  # the probe may go
    assert state(breakers)["state"] == "half-open"
    breakers.record(KEY, None)
    assert state(breakers) == {"state": "closed", "consecutive_failures": 0}
    breakers.guard(KEY)


def test_a_failed_probe_opens_it_for_another_reset_timeout(
    breakers: Breakers, clock: FixedClock
) -> None:
    fail(breakers, 3)
    clock.advance(31)
    fail(breakers, 1)
    with pytest.raises(CircuitOpenError) as info:
        breakers.guard(KEY)
    assert info.value.retry_after_seconds == 30


def test_each_account_and_base_url_has_its_own(breakers: Breakers) -> None:
    fail(breakers, 3)
    breakers.guard(BreakerKey("mpa_2", KEY.base_url))
    breakers.guard(BreakerKey(KEY.account_id, "https://sandbox.safaricom.co.ke"))
    assert [s["state"] for s in breakers.states().values()] == ["open", "closed", "closed"]


def test_disabled_it_never_opens(clock: FixedClock) -> None:
    breakers = Breakers(CircuitBreakerSettings(enabled=False, failure_threshold=1), clock)
    fail(breakers, 5)
    assert breakers.states() == {}


def test_health_lists_each_breaker_and_each_base_url(breakers: Breakers) -> None:
    fail(breakers, 3)
    healthy, detail = breakers.health()
    assert not healthy
    assert detail["circuit_breakers"][str(KEY)]["state"] == "open"
    upstream = detail["upstreams"][KEY.base_url]
    assert (upstream["consecutive_failures"], upstream["last_error"]) == (3, REFUSED.reason)


def test_an_answer_on_a_closed_breaker_does_not_queue_behind_its_lock(breakers: Breakers) -> None:
    """pybreaker serialises calls through one lock (held over its storage's round trips to
    Redis): hundreds of Daraja answers a second must not queue behind it to say "fine"."""
    fail(breakers, 2)
    breaker = breakers._get(KEY)
    assert breaker is not None
    done = threading.Event()

    def answered() -> None:
        breakers.record(KEY, None)
        done.set()

    with breaker._lock:  # another thread is inside pybreaker
        threading.Thread(target=answered, daemon=True).start()
        recorded = done.wait(timeout=5)
    assert recorded, "record() waited for the breaker's lock"
    assert state(breakers) == {"state": "closed", "consecutive_failures": 0}


def test_an_answer_to_the_probe_still_closes_an_open_breaker(
    breakers: Breakers, clock: FixedClock
) -> None:
    fail(breakers, 3)
    clock.advance(31)
    breakers.guard(KEY)  # half-open: this call is the probe
    breakers.record(KEY, None)
    assert state(breakers) == {"state": "closed", "consecutive_failures": 0}


def test_a_storage_that_cannot_be_reached_lets_calls_through(clock: FixedClock) -> None:
    def unreachable(key: BreakerKey) -> pybreaker.CircuitBreakerStorage:
        raise redis.ConnectionError("Redis is down")

    breakers = Breakers(SETTINGS, clock, unreachable)
    fail(breakers, 5)  # no breaker: no CircuitOpenError
    assert breakers.states() == {}


# --- in the processor, over real HTTP -----------------------------------------------------


def make_processor(clock: Clock | None = None, **overrides: Any) -> MpesaProcessor:
    settings = load_settings(
        {
            "circuit_breaker.failure_threshold": 3,
            "retry.attempts": 2,
            "performance.read_timeout_seconds": 1,
            **overrides,
        },
        environ={},
    )
    return MpesaProcessor(
        settings,
        clock or FixedClock(),
        MemoryTokenStore(time.time),
        SecretBox(DEV_ENCRYPTION_KEY),
        callback_url_for=lambda tenant_id, kind: "http://127.0.0.1:9/callbacks",
        sleep=lambda seconds: None,
    )


def credentials(base_url: str, account_id: str = "mpa_breaker") -> Credentials:
    return Credentials(
        account_id=account_id,
        base_url=base_url,
        shortcode=Shortcode.for_kind("paybill", "600000", None),
        consumer_key="key",
        consumer_secret="secret",
        passkey=None,
    )


def test_each_try_of_a_never_sent_request_counts() -> None:
    processor, creds = make_processor(), credentials(closed_port_url())
    assert processor.call(creds, SIMULATE, {}) == ports.NotSent(
        "connection refused or host not found"
    )
    opened = processor.call(creds, SIMULATE, {})  # second try of the second call: refused
    assert isinstance(opened, ports.NotSent) and opened.retry_after_seconds == 30
    assert opened.reason.startswith("circuit open for http://127.0.0.1:")


def test_open_nothing_reaches_daraja_until_the_probe() -> None:
    clock, daraja = FixedClock(), ScriptedDaraja("html_503")
    try:
        processor, creds = make_processor(clock), credentials(daraja.url)
        for _ in range(3):  # a push is never re-sent: one try each
            assert isinstance(processor.call(creds, SIMULATE, {}), ports.Unknown)
        answer = processor.call(creds, SIMULATE, {})
        assert isinstance(answer, ports.NotSent) and answer.retry_after_seconds == 30
        assert daraja.posts == 3
        daraja.mode = "ok"
        clock.advance(30)
        assert isinstance(processor.call(creds, SIMULATE, {}), dict)  # the probe
        assert processor.health().detail["circuit_breakers"][f"mpa_breaker {daraja.url}"] == {
            "state": "closed",
            "consecutive_failures": 0,
        }
    finally:
        daraja.stop()


# --- shared through Redis -----------------------------------------------------------------


@pytest.fixture
def account_id() -> Iterator[str]:
    """An account id of this test's own; its breaker's keys are deleted afterwards."""
    account_id = f"mpa_test_{uuid.uuid4().hex}"
    yield account_id
    if REDIS_URL:
        client = redis.Redis.from_url(REDIS_URL)
        for name in client.scan_iter(f"apg:circuit:{account_id}:*"):
            client.delete(name)
        client.close()


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_two_processors_sharing_redis_see_the_same_open_breaker(account_id: str) -> None:
    first, second = (make_processor(Clock(), **{"app.redis_url": REDIS_URL}) for _ in range(2))
    creds = credentials(closed_port_url(), account_id)
    for _ in range(2):  # two tries each: the third try opens it
        first.call(creds, SIMULATE, {})
    answer = second.call(creds, SIMULATE, {})
    assert isinstance(answer, ports.NotSent) and answer.retry_after_seconds is not None
    key = f"{account_id} {creds.base_url}"
    assert second.health().detail["circuit_breakers"][key]["state"] == "open"
    assert first.health().detail["circuit_breakers"][key]["state"] == "open"
