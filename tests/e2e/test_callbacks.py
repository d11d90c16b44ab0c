"""Inbound callbacks: stored raw first; malformed, unknown and early ones are kept and flagged."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.factories import make_payment
from tests.support.servers import LiveServer


def callback_url(app: Flask, server: LiveServer, tenant_id: str) -> str:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    return f"{server.url}/webhooks/daraja/{token}/stk"


def stk_body(checkout_id: str, code: int = 0) -> dict[str, Any]:
    callback: dict[str, Any] = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": code,
        "ResultDesc": "The service request is processed successfully.",
    }
    if code == 0:
        callback["CallbackMetadata"] = {
            "Item": [
                {"Name": "Amount", "Value": 100.00},
                {"Name": "MpesaReceiptNumber", "Value": "UKN1ABCDEF"},
                {"Name": "TransactionDate", "Value": 20261123101500},
                {"Name": "PhoneNumber", "Value": 254708374149},
            ]
        }
    return {"Body": {"stkCallback": callback}}


def stored_callbacks(app: Flask) -> list[InboundCallback]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return list(rows)


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"Body": {}}', b"\xff\xfe", b""])
def test_malformed_bodies_are_stored_flagged_and_answered_400(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str], raw: bytes
) -> None:
    response = requests.post(callback_url(app, gateway_server, tenant[0]), data=raw, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_callback"
    [stored] = stored_callbacks(app)
    assert (stored.outcome, stored.tenant_id) == ("malformed", tenant[0])
    assert stored.raw_body == raw
    assert stored.error


def test_unknown_url_token_is_404_and_still_stored(app: Flask, gateway_server: LiveServer) -> None:
    url = f"{gateway_server.url}/webhooks/daraja/{'0' * 40}/stk"
    response = requests.post(url, json=stk_body("ws_CO_1"), timeout=10)
    assert response.status_code == 404
    [stored] = stored_callbacks(app)
    assert (stored.outcome, stored.tenant_id) == ("unknown_tenant", None)
    assert json.loads(stored.raw_body) == stk_body("ws_CO_1")


def test_unknown_checkout_id_is_acknowledged_and_kept_unmatched(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    response = requests.post(
        callback_url(app, gateway_server, tenant[0]), json=stk_body("ws_CO_nobody"), timeout=10
    )
    assert response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    [stored] = stored_callbacks(app)
    assert (stored.outcome, stored.ref_value) == ("unmatched", "ws_CO_nobody")


def test_a_callback_that_raced_ahead_is_applied_when_the_payment_is_accepted(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    requests.post(
        callback_url(app, gateway_server, tenant[0]), json=stk_body("ws_CO_early"), timeout=10
    )
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_early")
    with app.app_context():
        app.extensions["apg"].inbox.apply_waiting(db.session.get(PaymentTransaction, payment_id))
        payment = db.session.get(PaymentTransaction, payment_id)
        assert (payment.status, payment.receipt) == ("completed", "UKN1ABCDEF")
    [stored] = stored_callbacks(app)
    assert (stored.outcome, stored.payment_id) == ("applied", payment_id)


def test_concurrent_duplicate_callbacks_apply_exactly_once(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_twice")
    url, body = callback_url(app, gateway_server, tenant[0]), json.dumps(stk_body("ws_CO_twice"))
    start = threading.Barrier(4)
    codes: list[int] = []

    def deliver() -> None:
        start.wait()
        codes.append(requests.post(url, data=body, timeout=30).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 4
    assert sorted(c.outcome for c in stored_callbacks(app)) == ["applied"] + ["duplicate"] * 3
    with app.app_context():
        completions = (
            db.session.execute(
                select(PaymentEvent).where(
                    PaymentEvent.payment_id == payment_id, PaymentEvent.to_status == "completed"
                )
            )
            .scalars()
            .all()
        )
    assert len(completions) == 1


def test_a_late_success_after_a_timeout_completes_the_payment(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_late")
    url = callback_url(app, gateway_server, tenant[0])
    requests.post(url, json=stk_body("ws_CO_late", code=1037), timeout=10)
    requests.post(url, json=stk_body("ws_CO_late", code=0), timeout=10)
    requests.post(url, json=stk_body("ws_CO_late", code=1032), timeout=10)
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        assert (payment.status, payment.result_code) == ("completed", "0")
    # A cancellation after the money moved contradicts it: kept as a conflict, not applied.
    assert [c.outcome for c in stored_callbacks(app)] == ["applied", "applied", "conflict"]
