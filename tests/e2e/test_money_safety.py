"""Review defects where money could be wrong: unverified successes, lost receipts, conflicts."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.factories import make_payment
from tests.support.servers import LiveServer


def callback_url(app: Flask, server: LiveServer, tenant_id: str, kind: str = "stk") -> str:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    return f"{server.url}/webhooks/daraja/{token}/{kind}"


def success_items(amount: Any = 100.00, receipt: Any = "UKN1ABCDEF") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"Name": "Amount", "Value": amount},
        {"Name": "MpesaReceiptNumber", "Value": receipt},
        {"Name": "TransactionDate", "Value": 20261123101500},
        {"Name": "PhoneNumber", "Value": 254708374149},
    ]
    return [i for i in items if i["Value"] is not None]


def stk_body(checkout_id: str, code: int = 0, items: list[dict[str, Any]] | None = None) -> dict:
    callback: dict[str, Any] = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": code,
        "ResultDesc": "The service request is processed successfully.",
    }
    if code == 0:
        callback["CallbackMetadata"] = {"Item": success_items() if items is None else items}
    return {"Body": {"stkCallback": callback}}


def fetch(client: FlaskClient, headers: dict[str, str], payment_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/payments/{payment_id}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


def outcomes(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [row.outcome for row in rows]


@pytest.mark.parametrize(
    ("items", "evidence"),
    [
        (success_items(amount=50.00), "amount"),  # paid KES 50 of KES 100
        (success_items(receipt=None), "receipt"),
        (success_items(amount=None), "amount"),
        (success_items(amount="abc"), "amount"),
        (success_items(amount=100.5), "amount"),
    ],
    ids=["other-amount", "no-receipt", "no-amount", "unparseable-amount", "fractional-cents"],
)
def test_an_unverified_success_is_held_for_review_not_completed(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    items: list[dict[str, Any]],
    evidence: str,
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_verify")
    body = stk_body("ws_CO_verify", items=items)
    response = requests.post(callback_url(app, gateway_server, tenant[0]), json=body, timeout=10)
    assert response.status_code == 200  # acknowledged: Daraja must not resend it forever
    payment = fetch(client, api_headers, payment_id)
    assert payment["status"] == "review"
    assert evidence in payment["status_reason"]
    assert payment["finalized_at"] is None


def test_the_receipt_still_arrives_after_a_query_completed_the_payment(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    gateway_server: LiveServer,
    tenant: tuple[str, str],
) -> None:
    payment_id = make_payment(
        app, tenant[0], checkout_request_id="ws_CO_q1", status="completed", result_code="0"
    )
    url = callback_url(app, gateway_server, tenant[0])
    assert requests.post(url, json=stk_body("ws_CO_q1"), timeout=10).status_code == 200
    payment = fetch(client, api_headers, payment_id)
    assert (payment["status"], payment["mpesa_receipt_number"]) == ("completed", "UKN1ABCDEF")
    assert payment["transaction_date"] is not None
    assert payment["paid_amount"] == 10000
    assert outcomes(app) == ["enriched"]


def test_a_late_callback_with_another_amount_sends_a_completed_payment_to_review(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    gateway_server: LiveServer,
    tenant: tuple[str, str],
) -> None:
    payment_id = make_payment(
        app, tenant[0], checkout_request_id="ws_CO_q2", status="completed", amount=20000
    )
    url = callback_url(app, gateway_server, tenant[0])
    requests.post(url, json=stk_body("ws_CO_q2"), timeout=10)  # says KES 100 of KES 200
    payment = fetch(client, api_headers, payment_id)
    assert payment["status"] == "review"
    assert "amount" in payment["status_reason"]


@pytest.mark.parametrize("settled", ["cancelled", "failed"])
def test_a_success_after_a_failure_is_a_conflict_not_a_replay(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    settled: str,
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_c1", status=settled)
    url = callback_url(app, gateway_server, tenant[0])
    with caplog.at_level(logging.WARNING):
        assert requests.post(url, json=stk_body("ws_CO_c1"), timeout=10).status_code == 200
    assert outcomes(app) == ["conflict"]
    payment = fetch(client, api_headers, payment_id)
    assert (payment["status"], payment["conflicts"]) == (settled, 1)
    assert any(
        "conflict" in r.getMessage() and payment_id in r.getMessage() for r in caplog.records
    )
    stats = client.get("/stats").json
    assert stats["callbacks"]["conflict"] == 1


def test_a_replay_of_the_same_outcome_is_still_a_duplicate(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    make_payment(app, tenant[0], checkout_request_id="ws_CO_d1", status="cancelled")
    url = callback_url(app, gateway_server, tenant[0])
    requests.post(url, json=stk_body("ws_CO_d1", code=1032), timeout=10)
    assert outcomes(app) == ["duplicate"]


def test_a_stored_unmatched_callback_is_applied_by_the_sweep(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    gateway_server: LiveServer,
    tenant: tuple[str, str],
) -> None:
    url = callback_url(app, gateway_server, tenant[0])
    requests.post(url, json=stk_body("ws_CO_s1"), timeout=10)
    assert outcomes(app) == ["unmatched"]
    # The payment commits later, and whatever should have applied the callback then never ran.
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_s1")
    result = app.test_cli_runner().invoke(args=["apg", "sweep-callbacks"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["applied"] == 1
    assert fetch(client, api_headers, payment_id)["status"] == "completed"
    assert outcomes(app) == ["applied"]


def events(client: FlaskClient, headers: dict[str, str], payment_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/payments/{payment_id}/events", headers=headers)
    return response.json["data"]  # type: ignore[no-any-return]


def test_enrichment_and_conflicts_leave_exact_audit_rows(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    gateway_server: LiveServer,
    tenant: tuple[str, str],
) -> None:
    url = callback_url(app, gateway_server, tenant[0])
    queried = make_payment(app, tenant[0], checkout_request_id="ws_CO_e1", status="completed")
    requests.post(url, json=stk_body("ws_CO_e1"), timeout=10)
    [enriched] = events(client, api_headers, queried)
    assert {k: enriched[k] for k in ("kind", "from_status", "to_status", "source")} == {
        "kind": "enrichment",
        "from_status": "completed",
        "to_status": "completed",
        "source": "callback",
    }
    assert enriched["detail"] == {"filled": ["paid_amount", "receipt", "transaction_date"]}

    cancelled = make_payment(app, tenant[0], checkout_request_id="ws_CO_e2", status="cancelled")
    requests.post(url, json=stk_body("ws_CO_e2"), timeout=10)
    requests.post(url, json=stk_body("ws_CO_e2"), timeout=10)
    conflicts = events(client, api_headers, cancelled)
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in conflicts] == [
        ("conflict", "cancelled", "completed")
    ] * 2
    assert conflicts[0]["detail"] == {"result_code": "0", "receipt": "UKN1ABCDEF"}
    assert fetch(client, api_headers, cancelled)["conflicts"] == 2
    assert client.get("/stats").json["conflicts"] == 2


def test_the_sweep_retries_a_callback_that_died_mid_processing_but_not_a_fresh_one(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    tenant: tuple[str, str],
    clock: Any,
) -> None:
    from datetime import timedelta

    from apg.webhooks.models import CallbackOutcome

    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_r1")
    with app.app_context():  # stored raw, then the worker died before processing it
        db.session.add(
            InboundCallback(
                kind="stk",
                processor="mpesa",
                tenant_id=tenant[0],
                raw_body=json.dumps(stk_body("ws_CO_r1")).encode(),
                body_size=1,
                received_at=clock.now(),
                outcome=CallbackOutcome.RECEIVED,
            )
        )
        db.session.commit()
    sweep = ["apg", "sweep-callbacks"]
    assert json.loads(app.test_cli_runner().invoke(args=sweep).output)["applied"] == 0
    assert outcomes(app) == ["received"]  # it may still be in another worker's hands
    clock.shift(timedelta(minutes=3))
    assert json.loads(app.test_cli_runner().invoke(args=sweep).output)["applied"] == 1
    assert fetch(client, api_headers, payment_id)["status"] == "completed"
    assert outcomes(app) == ["applied"]
