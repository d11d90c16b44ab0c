"""The circuit breaker, retries and throttling through the merchant API, over real HTTP: a
Daraja that keeps failing is left alone (503 processor_unavailable, Retry-After, nothing sent)
until a probe after the reset timeout succeeds; Daraja's own refusals never open it; throttling
is 429 with Retry-After. Waits between retries are recorded, never slept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.wrappers import Request, Response

from apg.processors.mpesa.accounts import stk_account_id
from apg.settings import Settings
from tests.support.clock import ShiftableClock
from tests.support.factories import Merchant, make_payment, make_tenant
from tests.support.servers import LiveServer, ScriptedDaraja, closed_port_url

SPIKE_ARREST = {
    "requestId": "11728-2929992-1",
    "errorCode": "500.003.02",
    "errorMessage": "Error Occurred: Spike Arrest Violation",
}


@pytest.fixture
def settings(app: Flask) -> Settings:
    return app.extensions["apg"].settings  # type: ignore[no-any-return]


@pytest.fixture
def sleeps(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the processor would have slept between retries (full jitter: random = 1)."""
    waits: list[float] = []
    processor = app.extensions["apg"].processors.get("mpesa")
    monkeypatch.setattr(processor, "sleep", waits.append)
    monkeypatch.setattr(processor, "random", lambda: 1.0)
    return waits


@pytest.fixture
def daraja() -> Iterator[ScriptedDaraja]:
    server = ScriptedDaraja("html_503")
    yield server
    server.stop()


def merchant_at(
    app: Flask, server: LiveServer, base_url: str, **account: str
) -> tuple[Merchant, str]:
    """A merchant whose account's Daraja is at base_url, and its tenant id."""
    tenant_id, api_key = make_tenant(app, "Breaker Ltd", base_url=base_url, **account)
    return Merchant(server.url, api_key), tenant_id


def breaker_of(app: Flask, client: Any, tenant_id: str, base_url: str) -> dict[str, Any]:
    """The tenant's breaker for base_url, as GET /health/ready shows it."""
    with app.app_context():
        account_id = stk_account_id(tenant_id)
    breakers = client.get("/health/ready").json["checks"]["mpesa"]["circuit_breakers"]
    return breakers[f"{account_id} {base_url}"]  # type: ignore[no-any-return]


def open_breaker(merchant: Merchant, daraja: ScriptedDaraja, settings: Settings) -> None:
    """Pushes answered by an HTML 503 (outcome unknown, never re-sent): one failure each."""
    for _ in range(settings.circuit_breaker.failure_threshold):
        assert merchant.create_payment().json()["error"]["code"] == "outcome_unknown"
    assert daraja.posts == settings.circuit_breaker.failure_threshold


def assert_processor_unavailable(response: requests.Response, settings: Settings) -> None:
    wait = settings.circuit_breaker.reset_timeout_seconds
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(wait)
    error = response.json()["error"]
    assert (error["code"], error["retry_after_seconds"]) == ("processor_unavailable", wait)


def test_an_open_breaker_answers_at_once_and_sends_nothing(
    app: Flask,
    client: Any,
    gateway_server: LiveServer,
    daraja: ScriptedDaraja,
    settings: Settings,
    sleeps: list[float],
) -> None:
    merchant, tenant_id = merchant_at(app, gateway_server, daraja.url)
    open_breaker(merchant, daraja, settings)
    response = merchant.create_payment()
    assert_processor_unavailable(response, settings)
    payment = merchant.get_payment(response.json()["error"]["payment"]["id"]).json()
    assert payment["status"] == "failed"
    assert payment["status_reason"].startswith(f"not sent: circuit open for {daraja.url}")
    assert daraja.posts == settings.circuit_breaker.failure_threshold  # nothing reached it
    assert sleeps == []  # a push that may have reached Daraja is never re-sent
    breaker = breaker_of(app, client, tenant_id, daraja.url)
    assert (breaker["state"], breaker["retry_after_seconds"]) == ("open", 30)


def test_a_refresh_while_open_is_503_and_changes_nothing(
    app: Flask, gateway_server: LiveServer, daraja: ScriptedDaraja, settings: Settings
) -> None:
    merchant, tenant_id = merchant_at(app, gateway_server, daraja.url)
    open_breaker(merchant, daraja, settings)
    payment_id = make_payment(app, tenant_id, checkout_request_id="ws_CO_b")
    response = merchant.get_payment(payment_id, refresh="true")
    assert_processor_unavailable(response, settings)
    assert "payment is unchanged" in response.json()["error"]["message"]
    assert merchant.get_payment(payment_id).json()["status"] == "processing"


def test_after_the_reset_timeout_a_successful_probe_closes_it(
    app: Flask,
    client: Any,
    gateway_server: LiveServer,
    daraja: ScriptedDaraja,
    settings: Settings,
    clock: ShiftableClock,
) -> None:
    merchant, tenant_id = merchant_at(app, gateway_server, daraja.url)
    open_breaker(merchant, daraja, settings)
    daraja.mode = "ok"  # Daraja is back, but nobody asks it yet
    assert merchant.create_payment().status_code == 503
    clock.shift(timedelta(seconds=settings.circuit_breaker.reset_timeout_seconds))
    assert merchant.create_payment().status_code == 201  # the probe
    assert breaker_of(app, client, tenant_id, daraja.url) == {
        "state": "closed",
        "consecutive_failures": 0,
    }


def test_a_failed_probe_opens_it_again(
    app: Flask,
    gateway_server: LiveServer,
    daraja: ScriptedDaraja,
    settings: Settings,
    clock: ShiftableClock,
) -> None:
    merchant, _ = merchant_at(app, gateway_server, daraja.url)
    open_breaker(merchant, daraja, settings)
    clock.shift(timedelta(seconds=settings.circuit_breaker.reset_timeout_seconds))
    assert merchant.create_payment().json()["error"]["code"] == "outcome_unknown"  # the probe
    assert_processor_unavailable(merchant.create_payment(), settings)
    assert daraja.posts == settings.circuit_breaker.failure_threshold + 1


def test_a_closed_port_is_retried_then_opens_the_breaker(
    app: Flask, gateway_server: LiveServer, settings: Settings, sleeps: list[float]
) -> None:
    """Never sent, so each push is tried `retry.attempts` times; every try counts."""
    assert (settings.retry.attempts, settings.circuit_breaker.failure_threshold) == (3, 5)
    merchant, _ = merchant_at(app, gateway_server, closed_port_url())
    first = merchant.create_payment()
    assert (first.status_code, first.json()["error"]["code"]) == (503, "upstream_unavailable")
    assert sleeps == [0.25, 0.5]
    second = merchant.create_payment()  # tries 4 and 5 fail; the breaker refuses the third
    assert second.json()["error"]["code"] == "processor_unavailable"
    assert "Retry-After" in second.headers


@pytest.mark.parametrize(
    "account",
    [{"passkey": "not-the-passkey"}, {"consumer_secret": "nope-secret"}],
    ids=["wrong-passkey", "wrong-consumer-secret"],
)
def test_wrong_credentials_never_open_it(
    app: Flask,
    client: Any,
    gateway_server: LiveServer,
    emulator: Any,
    settings: Settings,
    account: dict[str, str],
) -> None:
    merchant, tenant_id = merchant_at(app, gateway_server, emulator.url, **account)
    for _ in range(settings.circuit_breaker.failure_threshold + 1):
        response = merchant.create_payment()
        assert response.json()["error"]["code"] == "credentials_rejected"
        assert "apg doctor --tenant" in response.json()["error"]["message"]
    assert breaker_of(app, client, tenant_id, emulator.url)["state"] == "closed"


# --- throttling -----------------------------------------------------------------------------


class ThrottlingDaraja:
    """Daraja behind its rate limit: OAuth works, every product request is a spike arrest."""

    def __init__(self) -> None:
        self.product_requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if Request(environ).path.startswith("/oauth/"):
            token = {"access_token": "T0k3nT0k3nT0k3nT0k3nT0k3nT0k3", "expires_in": "3599"}
            response = Response(json.dumps(token), mimetype="application/json")
        else:
            self.product_requests += 1
            response = Response(json.dumps(SPIKE_ARREST), 500, mimetype="application/json")
        return response(environ, start_response)


@pytest.fixture
def throttling() -> Iterator[tuple[ThrottlingDaraja, LiveServer]]:
    daraja = ThrottlingDaraja()
    server = LiveServer(daraja).start()
    yield daraja, server
    server.stop()


def test_a_throttled_push_is_sent_once_and_answered_429(
    app: Flask, gateway_server: LiveServer, throttling: tuple[ThrottlingDaraja, LiveServer]
) -> None:
    daraja, server = throttling
    response = merchant_at(app, gateway_server, server.url)[0].create_payment()
    assert (response.status_code, response.headers["Retry-After"]) == (429, "5")
    assert response.json()["error"]["payment"]["status"] == "failed"
    assert daraja.product_requests == 1


def test_a_throttled_query_is_retried_then_answered_429(
    app: Flask,
    gateway_server: LiveServer,
    throttling: tuple[ThrottlingDaraja, LiveServer],
    settings: Settings,
    sleeps: list[float],
) -> None:
    daraja, server = throttling
    merchant, tenant_id = merchant_at(app, gateway_server, server.url)
    payment_id = make_payment(app, tenant_id, checkout_request_id="ws_CO_t")
    response = merchant.get_payment(payment_id, refresh="true")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "5")
    error = response.json()["error"]
    assert (error["code"], error["daraja_code"]) == ("rate_limited", "500.003.02")
    assert daraja.product_requests == settings.retry.attempts  # a read may be asked again
    assert sleeps == [0.25, 0.5]
    assert merchant.get_payment(payment_id).json()["status"] == "processing"
