"""Rate limits: per API key on the merchant API; per source address on callbacks from outside
the allowlist, never on Safaricom's. A refusal is 429 with Retry-After and the error object,
and the first hit of each window is a security event."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.security.events import SecurityEvent
from apg.settings import SAFARICOM_CALLBACK_IPS
from apg.tenants.models import Tenant
from tests.support.apps import sibling_app
from tests.support.clock import ShiftableClock
from tests.support.factories import make_tenant

STRANGER = "203.0.113.9"
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def limited_app(app: Flask, clock: ShiftableClock, **overrides: Any) -> Flask:
    """Another app on the same database, with small limits (and its own counters)."""
    limits = {
        "security.api_rate_limit": "3/minute",
        "security.callback_rate_limit": "2/minute",
        "security.auth_failure_rate_limit": "3/minute",
    }
    return sibling_app(app, clock, **{**limits, **overrides})


@pytest.fixture
def limited(app: Flask, clock: ShiftableClock) -> Iterator[Flask]:
    other = limited_app(app, clock)
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
def test_workers_sharing_redis_share_one_allowance(app: Flask, clock: ShiftableClock) -> None:
    """Two workers (apps) with app.redis_url count a key's requests together."""
    first, second = (limited_app(app, clock, **{"app.redis_url": REDIS_URL}) for _ in range(2))
    _, key = make_tenant(first, "Tenant A")
    answers = [
        list_payments(worker.test_client(), key).status_code
        for worker in (first, second, first, second)
    ]
    assert answers == [200, 200, 200, 429]
    for worker in (first, second):
        with worker.app_context():
            db.engine.dispose()


def events(app: Flask) -> list[SecurityEvent]:
    with app.app_context():
        return list(db.session.execute(select(SecurityEvent).order_by(SecurityEvent.id)).scalars())


def list_payments(client: FlaskClient, key: str) -> Any:
    return client.get("/api/v1/payments", headers={"Authorization": f"Bearer {key}"})


def test_the_api_limit_is_per_key_and_answers_429_with_retry_after(limited: Flask) -> None:
    _, key_a = make_tenant(limited, "Tenant A")
    _, key_b = make_tenant(limited, "Tenant B")
    client = limited.test_client()
    assert [list_payments(client, key_a).status_code for _ in range(3)] == [200, 200, 200]

    refused = list_payments(client, key_a)

    assert refused.status_code == 429
    error = refused.json["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "too_many_requests")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert error["retry_after_seconds"] == int(refused.headers["Retry-After"])
    assert list_payments(client, key_b).status_code == 200  # B has its own allowance
    assert list_payments(client, key_a).status_code == 429  # one event per window, below
    [event] = events(limited)
    assert (event.kind, event.source_ip) == ("rate_limited", "127.0.0.1")
    assert key_a[:13] in event.detail and key_a not in event.detail


def test_failed_authentications_are_limited_per_address(limited: Flask) -> None:
    """Each random key would have its own API-key allowance: the 401s count by address."""
    _, key = make_tenant(limited, "Tenant A")
    client = limited.test_client()
    guesses = [list_payments(client, f"apg_live_guess{n}").status_code for n in range(4)]
    assert guesses == [401, 401, 401, 429]
    assert list_payments(client, key).status_code == 429  # that address, until the window ends
    other = client.get(
        "/api/v1/payments",
        headers={"Authorization": f"Bearer {key}"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other.status_code == 200
    kinds = [e.kind for e in events(limited)]
    assert kinds == ["auth_failed"] * 3 + ["rate_limited"]


def test_the_default_limit_leaves_ordinary_use_alone(
    app: Flask, api_headers: dict[str, str]
) -> None:
    """The shared test app keeps the default API limit (1200/minute)."""
    client = app.test_client()
    assert all(
        client.get("/api/v1/payments", headers=api_headers).status_code == 200 for _ in range(20)
    )


def callback(client: FlaskClient, token: str, source: str) -> int:
    body = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_none", "ResultCode": 1032}}}
    response = client.post(
        f"/webhooks/daraja/{token}/stk", json=body, environ_base={"REMOTE_ADDR": source}
    )
    return response.status_code


def token_of(app: Flask, tenant_id: str) -> str:
    with app.app_context():
        return str(db.session.get(Tenant, tenant_id).callback_token)


def test_callbacks_from_outside_the_allowlist_are_limited_per_address(limited: Flask) -> None:
    tenant_id, _ = make_tenant(limited, "Tenant A")
    token, client = token_of(limited, tenant_id), limited.test_client()
    assert [callback(client, token, STRANGER) for _ in range(3)] == [200, 200, 429]
    assert callback(client, token, "203.0.113.10") == 200  # another address, its own allowance
    assert [e.kind for e in events(limited)] == ["rate_limited"]


def test_safaricom_and_the_development_emulator_are_never_throttled(limited: Flask) -> None:
    tenant_id, _ = make_tenant(limited, "Tenant A")
    token, client = token_of(limited, tenant_id), limited.test_client()
    for source in (SAFARICOM_CALLBACK_IPS[0], SAFARICOM_CALLBACK_IPS[-1], "127.0.0.1"):
        assert {callback(client, token, source) for _ in range(10)} == {200}
    assert events(limited) == []
