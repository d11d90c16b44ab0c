"""DarajaClient over real HTTP: tokens, the invalid-token retry, and the one classification of
every outcome into never sent, refused, or unknown."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from apg.processors.mpesa.client import (
    DarajaClient,
    NotSentError,
    OutcomeUnknownError,
    RefusedError,
    mask_token,
)
from apg.processors.mpesa.tokens import MemoryTokenStore
from daraja_emulator import EmulatorServer, load_config
from tests.support.servers import ScriptedDaraja, closed_port_url

OAUTH, QUERY, PUSH = (
    "/oauth/v1/generate",
    "/mpesa/stkpushquery/v1/query",
    "/mpesa/stkpush/v1/processrequest",
)


class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.paths.append(urlsplit(url).path)
        return super().request(method, url, *args, **kwargs)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def daraja() -> Iterator[EmulatorServer]:
    with EmulatorServer(load_config({"callback_delay_seconds": 3600})) as server:
        yield server


def make_client(
    url: str, clock: FakeClock | None = None, secret: str = "apg-emulator-secret"
) -> tuple[DarajaClient, CountingSession]:
    clock = clock or FakeClock()
    session = CountingSession()
    client = DarajaClient(
        url,
        "apg-emulator-key",
        secret,
        session=session,
        tokens=MemoryTokenStore(clock),
        timeout=(1, 1),
        refresh_buffer_seconds=60,
        clock=clock,
    )
    return client, session


QUERY_BODY = {
    "BusinessShortCode": "174379",
    "Password": "x",
    "Timestamp": "20260101000000",
    "CheckoutRequestID": "ws_CO_unknown",
}


def test_token_is_cached_until_the_refresh_buffer(daraja: EmulatorServer) -> None:
    clock = FakeClock()
    client, session = make_client(daraja.url, clock)
    first = client.access_token()
    assert len(first) == 28 and client.access_token() == first
    clock.now += 3599 - 61  # just outside the buffer: still fresh
    assert client.access_token() == first
    clock.now += 2  # inside the 60 s buffer: refresh
    assert client.access_token() != first
    assert session.paths.count(OAUTH) == 2


def test_concurrent_callers_mint_one_token(daraja: EmulatorServer) -> None:
    client, session = make_client(daraja.url)
    barrier = threading.Barrier(8)
    tokens: set[str] = set()

    def call() -> None:
        barrier.wait()
        tokens.add(client.access_token())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tokens) == 1 and session.paths.count(OAUTH) == 1


def test_a_revoked_token_is_refreshed_once_and_the_call_retried(daraja: EmulatorServer) -> None:
    client, session = make_client(daraja.url)
    client.access_token()
    requests.post(f"{daraja.url}/_emulator/reset", timeout=5)  # every issued token dies
    with pytest.raises(RefusedError) as info:
        client.post(QUERY, QUERY_BODY)
    assert info.value.code == "500.001.1001"  # got past auth: the retry worked
    assert session.paths == [OAUTH, QUERY, OAUTH, QUERY]


def test_darajas_error_envelope_is_refused_with_its_code(daraja: EmulatorServer) -> None:
    client, _ = make_client(daraja.url)
    with pytest.raises(RefusedError) as info:
        client.post(PUSH, {"BusinessShortCode": "12"})
    assert (info.value.code, info.value.message) == (
        "400.002.02",
        "Bad Request - Invalid BusinessShortCode",
    )


# --- never sent: the request surely did not reach Daraja ----------------------------------


def test_an_oauth_failure_means_the_call_was_never_sent(daraja: EmulatorServer) -> None:
    client, session = make_client(daraja.url, secret="wrong")
    with pytest.raises(NotSentError) as info:
        client.post(PUSH, {})
    assert "Invalid Credentials" in info.value.reason
    assert PUSH not in session.paths


@pytest.mark.parametrize(
    "url",
    [closed_port_url(), "http://apg-no-such-host.invalid"],
    ids=["connection-refused", "dns-failure"],
)
def test_no_connection_means_never_sent(url: str) -> None:
    with pytest.raises(NotSentError):
        make_client(url)[0].post(PUSH, {})


def test_a_tls_failure_before_the_request_means_never_sent(daraja: EmulatorServer) -> None:
    https = daraja.url.replace("http://", "https://")  # the emulator speaks plain HTTP
    with pytest.raises(NotSentError):
        make_client(https)[0].post(PUSH, {})


# --- unknown: it may have been acted on ---------------------------------------------------


@pytest.fixture
def scripted() -> Iterator[Callable[[str], ScriptedDaraja]]:
    servers: list[ScriptedDaraja] = []

    def start(mode: str) -> ScriptedDaraja:
        servers.append(ScriptedDaraja(mode))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize(
    ("mode", "timed_out"),
    [("hang", True), ("close", False), ("html_503", False), ("truncated", False)],
)
def test_an_answer_that_says_nothing_is_an_unknown_outcome(
    scripted: Callable[[str], ScriptedDaraja], mode: str, timed_out: bool
) -> None:
    server = scripted(mode)
    with pytest.raises(OutcomeUnknownError) as info:
        make_client(server.url)[0].post(PUSH, {})
    assert info.value.timed_out is timed_out
    assert server.posts == 1  # it reached Daraja: that is why nobody may call it failed


def test_a_usable_answer_is_returned(scripted: Callable[[str], ScriptedDaraja]) -> None:
    body = make_client(scripted("ok").url)[0].post(PUSH, {})
    assert body["ResponseCode"] == "0"


def test_an_echoed_access_token_is_masked() -> None:
    message = "Error Occurred - Invalid Access Token - c9SQxWWhmdVRlyh0zh8gZDTkubVF"
    assert mask_token(message) == "Error Occurred - Invalid Access Token - [redacted]"
    assert "abc123" not in mask_token("token abc123 is bad", "abc123")
