"""An Idempotency-Key stays bound to its payment once a push may have left: no second push."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from apg.payments import transitions
from daraja_emulator import EmulatorServer
from tests.support.clock import ShiftableClock
from tests.support.factories import claim_in_flight, make_payment, payment_body


def pushes_sent(emulator: EmulatorServer) -> int:
    stats = requests.get(f"{emulator.url}/_emulator/stats", timeout=10).json()
    return int(stats["stk_push_requests"])


def post(client: FlaskClient, headers: dict[str, str], key: str, **body: Any) -> Any:
    return client.post(
        "/api/v1/payments", json=payment_body(**body), headers={**headers, "Idempotency-Key": key}
    )


def test_a_crash_after_daraja_accepted_keeps_the_key_bound(
    client: FlaskClient,
    api_headers: dict[str, str],
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = transitions.transition

    def commit_fails_after_acceptance(txn: Any, to: Any, **kwargs: Any) -> bool:
        if to == "processing":
            raise RuntimeError("database went away")
        return real(txn, to, **kwargs)

    monkeypatch.setattr(transitions, "transition", commit_fails_after_acceptance)
    first = post(client, api_headers, "crash-1")
    assert first.status_code == 502
    error = first.json["error"]
    assert error["code"] == "outcome_unknown"
    assert error["payment"]["status"] == "unknown"

    monkeypatch.setattr(transitions, "transition", real)
    retry = post(client, api_headers, "crash-1")
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (502, "true")
    assert retry.json["error"]["payment"]["id"] == error["payment"]["id"]
    assert pushes_sent(emulator) == 1


def test_after_the_lease_a_dead_workers_key_resolves_to_its_payment(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    tenant: tuple[str, str],
    clock: ShiftableClock,
    emulator: EmulatorServer,
) -> None:
    # The worker claimed the key, recorded the payment, then died before answering.
    claim_in_flight(app, tenant[0], "crash-2", payment_body(), clock.now())
    payment_id = make_payment(app, tenant[0], status="pending", idempotency_key="crash-2")
    assert post(client, api_headers, "crash-2").status_code == 409  # still leased
    clock.shift(timedelta(minutes=5))
    retry = post(client, api_headers, "crash-2")
    assert retry.status_code == 200
    assert (retry.json["id"], retry.headers["Idempotent-Replayed"]) == (payment_id, "true")
    assert pushes_sent(emulator) == 0


def test_a_crash_inside_the_processor_leaves_the_payment_unknown_not_pending(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processor = app.extensions["apg"].processors.get("mpesa")

    def crash(operation: Any) -> Any:
        raise RuntimeError("a bug after the request may have left")

    monkeypatch.setattr(processor, "submit", crash)
    response = post(client, api_headers, "crash-3")
    assert (response.status_code, response.json["error"]["code"]) == (502, "outcome_unknown")
    assert response.json["error"]["payment"]["status"] == "unknown"
    assert post(client, api_headers, "crash-3").headers["Idempotent-Replayed"] == "true"


def test_the_key_is_recorded_on_the_payment_it_created(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    from apg.extensions import db
    from apg.payments.models import PaymentTransaction

    created = post(client, api_headers, "bound-1")
    with app.app_context():
        payment = db.session.get(PaymentTransaction, created.json["id"])
        assert payment.idempotency_key == "bound-1"


def test_an_unexpected_error_after_recording_keeps_the_key_and_resolves_at_once(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payments = app.extensions["apg"].payments
    real = payments.initiate

    def recorded_then_crashed(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise RuntimeError("the worker broke while answering")

    monkeypatch.setattr(payments, "initiate", recorded_then_crashed)
    assert post(client, api_headers, "crash-4").status_code == 500
    monkeypatch.setattr(payments, "initiate", real)
    retry = post(client, api_headers, "crash-4")  # no 409: the lease ended with the error
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (200, "true")
    assert pushes_sent(emulator) == 1


def test_recovery_finds_only_this_tenants_payment_made_since_the_claim(
    app: Flask, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    from apg.payments.queries import by_idempotency_key
    from tests.support.factories import make_tenant

    now = clock.now()
    other_tenant, _ = make_tenant(app, "Tenant B")
    make_payment(app, other_tenant, idempotency_key="k", created_at=now)
    make_payment(app, tenant[0], idempotency_key="k", created_at=now - timedelta(days=2))
    with app.app_context():
        assert by_idempotency_key(tenant[0], "k", now - timedelta(seconds=1)) is None
        mine = make_payment(app, tenant[0], idempotency_key="k", created_at=now)
        found = by_idempotency_key(tenant[0], "k", now - timedelta(seconds=1))
        assert found is not None and found.id == mine
        assert by_idempotency_key(tenant[0], "other-key", now - timedelta(seconds=1)) is None
