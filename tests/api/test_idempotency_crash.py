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
