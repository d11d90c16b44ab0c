"""DarajaClient against the emulator over HTTP: tokens, retries and typed errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from apg.errors import UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError
from apg.processors.mpesa.client import DarajaClient
from apg.processors.mpesa.tokens import InMemoryTokenCache
from daraja_emulator import EmulatorServer, load_config
from tests.support.servers import SilentServer, closed_port_url

OAUTH, QUERY = "/oauth/v1/generate", "/mpesa/stkpushquery/v1/query"


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
    url: str,
    clock: FakeClock | None = None,
    secret: str = "apg-emulator-secret",
    tokens: InMemoryTokenCache | None = None,
) -> tuple[DarajaClient, CountingSession]:
    session = CountingSession()
    client = DarajaClient(
        url,
        "apg-emulator-key",
        secret,
        session=session,
        tokens=tokens or InMemoryTokenCache(),
        timeout=(1, 1),
        refresh_buffer_seconds=60,
        clock=clock or FakeClock(),
    )
    return client, session


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
    with pytest.raises(UpstreamRejectedError) as info:
        client.stk_query(
            {
                "BusinessShortCode": "174379",
                "Password": "x",
                "Timestamp": "20260101000000",
                "CheckoutRequestID": "ws_CO_unknown",
            }
        )
    assert info.value.extra["daraja_code"] == "500.001.1001"  # got past auth: the retry worked
    assert session.paths == [OAUTH, QUERY, OAUTH, QUERY]


def test_wrong_secret_is_a_typed_rejection(daraja: EmulatorServer) -> None:
    client, _ = make_client(daraja.url, secret="wrong")
    with pytest.raises(UpstreamRejectedError) as info:
        client.access_token()
    assert info.value.code == "daraja_auth_failed"
    assert info.value.extra["daraja_message"] == "Bad Request: Invalid Credentials"


def test_daraja_error_envelope_becomes_fields(daraja: EmulatorServer) -> None:
    client, _ = make_client(daraja.url)
    with pytest.raises(UpstreamRejectedError) as info:
        client.stk_push({"BusinessShortCode": "12"})
    assert info.value.extra["daraja_code"] == "400.002.02"
    assert info.value.extra["daraja_message"] == "Bad Request - Invalid BusinessShortCode"
    assert info.value.extra["daraja_request_id"]


def test_refused_connection_is_unavailable_and_silence_is_a_timeout() -> None:
    with pytest.raises(UpstreamUnavailableError):
        make_client(closed_port_url())[0].access_token()
    silent = SilentServer()
    try:
        with pytest.raises(UpstreamTimeoutError):
            make_client(silent.url)[0].access_token()
    finally:
        silent.stop()
