"""Retries only where sending again is safe: the decision (a table), the backoff with jitter,
and the loop, with the sleeper and the random source injected (nothing here waits)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from apg.processors.mpesa.breaker import BreakerKey, CircuitOpenError
from apg.processors.mpesa.client import (
    CredentialsRejectedError,
    DarajaClient,
    DarajaError,
    NotSentError,
    OutcomeUnknownError,
    RefusedError,
    new_session,
)
from apg.processors.mpesa.retry import backoff_seconds, call_with_retries, should_retry
from apg.processors.mpesa.tokens import MemoryTokenStore
from apg.settings import RetrySettings
from tests.support.servers import ScriptedDaraja

POLICY = RetrySettings(attempts=3, base_delay_seconds=0.25, max_delay_seconds=2.0)
QUERY = "/mpesa/stkpushquery/v1/query"


def no_token(cause: DarajaError) -> NotSentError:
    """What DarajaClient.access_token raises when the OAuth GET failed with `cause`."""
    try:
        raise NotSentError(f"no OAuth token: {cause.reason}") from cause
    except NotSentError as exc:
        return exc


REFUSED = NotSentError("connection refused or host not found", upstream_fault=True)
HTML_503 = OutcomeUnknownError("HTTP 503 without Daraja's error body", upstream_fault=True)
TIMED_OUT = OutcomeUnknownError("no answer in time", timed_out=True, upstream_fault=True)
DROPPED = OutcomeUnknownError("the connection broke mid-request", upstream_fault=True)
SPIKE = RefusedError("500.003.02", "Error Occurred: Spike Arrest Violation")
QUOTA = RefusedError("500.003.03", "Error Occurred: Quota Violation")


@pytest.mark.parametrize(
    ("error", "money", "read_only"),
    [
        # never sent: safe for any request
        (REFUSED, True, True),
        (NotSentError("could not connect", upstream_fault=True), True, True),
        (NotSentError("TLS", upstream_fault=True), True, True),
        (no_token(HTML_503), True, True),
        (no_token(SPIKE), True, True),
        (no_token(DROPPED), True, True),
        # never sent, but sending again cannot help
        (NotSentError("invalid base URL"), False, False),
        (CredentialsRejectedError("Invalid Credentials"), False, False),
        (no_token(RefusedError("400.008.01", "Invalid grant type passed")), False, False),
        (no_token(TIMED_OUT), False, False),
        (NotSentError("no OAuth token: OperationalError"), False, False),
        (CircuitOpenError(BreakerKey("mpa_1", "https://x"), 30), False, False),
        # it may have reached Daraja: only a read may go again
        (HTML_503, False, True),
        (DROPPED, False, True),
        (SPIKE, False, True),
        (QUOTA, False, True),
        (TIMED_OUT, False, False),
        (OutcomeUnknownError("HTTP 200 with an undecodable body"), False, False),
        # Daraja answered in its own words: the same request gets the same answer
        (RefusedError("400.002.02", "Bad Request - Invalid PhoneNumber"), False, False),
        (RefusedError("500.001.1001", "Wrong credentials"), False, False),
        (RefusedError("500.001.1001", "Unable to lock subscriber"), False, False),
    ],
)
def test_should_retry(error: DarajaError, money: bool, read_only: bool) -> None:
    assert should_retry(error, read_only=False) is money
    assert should_retry(error, read_only=True) is read_only


@pytest.mark.parametrize(
    ("retry", "jitter", "expected"),
    [
        (1, 1.0, 0.25),
        (2, 1.0, 0.5),
        (3, 1.0, 1.0),
        (4, 1.0, 2.0),
        (9, 1.0, 2.0),  # capped
        (1, 0.0, 0.125),  # jitter keeps at least half of it
        (4, 0.0, 1.0),
        (2, 0.5, 0.375),
    ],
)
def test_backoff_is_exponential_capped_and_jittered(
    retry: int, jitter: float, expected: float
) -> None:
    assert backoff_seconds(retry, POLICY, lambda: jitter) == pytest.approx(expected)


class Script:
    """A call that raises the scripted errors in turn, then returns "answer"."""

    def __init__(self, *errors: DarajaError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def run(call: Callable[[], str], *, read_only: bool, sleeps: list[float]) -> str:
    return call_with_retries(
        call, read_only=read_only, policy=POLICY, sleep=sleeps.append, random=lambda: 1.0
    )


def test_a_request_that_was_never_sent_is_sent_again_after_the_backoff() -> None:
    sleeps: list[float] = []
    call = Script(REFUSED, REFUSED)
    assert run(call, read_only=False, sleeps=sleeps) == "answer"
    assert (call.calls, sleeps) == (3, [0.25, 0.5])


def test_it_gives_up_after_the_attempts_with_the_last_error() -> None:
    sleeps: list[float] = []
    last = NotSentError("could not connect", upstream_fault=True)
    call = Script(REFUSED, REFUSED, last, REFUSED)
    with pytest.raises(NotSentError) as info:
        run(call, read_only=False, sleeps=sleeps)
    assert (info.value, call.calls, len(sleeps)) == (last, 3, 2)


@pytest.mark.parametrize("error", [HTML_503, DROPPED, SPIKE], ids=["html", "dropped", "spike"])
def test_a_money_request_that_may_have_reached_daraja_is_never_sent_again(
    error: DarajaError,
) -> None:
    sleeps: list[float] = []
    call = Script(error)
    with pytest.raises(DarajaError):
        run(call, read_only=False, sleeps=sleeps)
    assert (call.calls, sleeps) == (1, [])


def test_a_read_is_retried_after_a_5xx_and_throttling() -> None:
    sleeps: list[float] = []
    call = Script(HTML_503, SPIKE)
    assert run(call, read_only=True, sleeps=sleeps) == "answer"
    assert call.calls == 3


def test_attempts_1_never_retries() -> None:
    call = Script(REFUSED)
    with pytest.raises(NotSentError):
        call_with_retries(
            call,
            read_only=True,
            policy=RetrySettings(attempts=1),
            sleep=pytest.fail,
            random=lambda: 1.0,
        )
    assert call.calls == 1


def test_anything_but_a_daraja_error_is_not_retried() -> None:
    def broken() -> str:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        call_with_retries(
            broken, read_only=True, policy=POLICY, sleep=pytest.fail, random=lambda: 1.0
        )


# --- over real HTTP ---------------------------------------------------------------------


@pytest.fixture
def daraja() -> Iterator[ScriptedDaraja]:
    server = ScriptedDaraja("html_503")
    yield server
    server.stop()


def make_client(url: str) -> DarajaClient:
    return DarajaClient(
        url,
        "key",
        "secret",
        session=new_session(2),
        tokens=MemoryTokenStore(lambda: 1_000_000.0),
        timeout=(1, 1),
        refresh_buffer_seconds=60,
    )


def test_a_query_is_asked_again_once_daraja_recovers(daraja: ScriptedDaraja) -> None:
    client = make_client(daraja.url)

    def recover(seconds: float) -> None:
        daraja.mode = "ok"

    answer = call_with_retries(
        lambda: client.post(QUERY, {}),
        read_only=True,
        policy=POLICY,
        sleep=recover,
        random=lambda: 1.0,
    )
    assert answer["ResponseCode"] == "0" and daraja.posts == 2


def test_a_push_answered_by_an_html_503_reaches_daraja_once(daraja: ScriptedDaraja) -> None:
    client = make_client(daraja.url)
    with pytest.raises(OutcomeUnknownError):
        call_with_retries(
            lambda: client.post("/mpesa/stkpush/v1/processrequest", {}),
            read_only=False,
            policy=POLICY,
            sleep=pytest.fail,
            random=lambda: 1.0,
        )
    assert daraja.posts == 1
