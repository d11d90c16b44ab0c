"""Tenant isolation: nothing of tenant A is visible or changeable through tenant B."""

from __future__ import annotations

import json

import requests
from flask import Flask

from apg.extensions import db
from apg.tenants.models import Tenant
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import LiveServer


def test_tenant_b_cannot_see_tenant_a_payment(
    app: Flask, merchant: Merchant, gateway_server: LiveServer
) -> None:
    payment = merchant.create_payment().json()
    other = Merchant(gateway_server.url, make_tenant(app, "Tenant B")[1])

    for response in (
        other.get_payment(payment["id"]),
        other.get_payment(payment["id"], refresh="true"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"
    assert other.list_payments().json()["data"] == []
    listed = other.list_payments(starting_after=payment["id"])
    assert listed.status_code == 404
    assert [p["id"] for p in merchant.list_payments().json()["data"]] == [payment["id"]]


def test_callback_on_tenant_b_url_cannot_settle_tenant_a_payment(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, gateway_server: LiveServer
) -> None:
    payment = merchant.create_payment().json()
    tenant_b, _ = make_tenant(app, "Tenant B")
    with app.app_context():
        token_b = db.session.get(Tenant, tenant_b).callback_token
    forged = {
        "Body": {
            "stkCallback": {
                "MerchantRequestID": payment["merchant_request_id"],
                "CheckoutRequestID": payment["checkout_request_id"],
                "ResultCode": 1032,
                "ResultDesc": "Request cancelled by user",
            }
        }
    }
    response = requests.post(
        f"{gateway_server.url}/webhooks/daraja/{token_b}/stk",
        data=json.dumps(forged),
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200  # acknowledged and kept, but matched to nothing
    assert merchant.get_payment(payment["id"]).json()["status"] == "processing"


def test_the_same_phone_gets_a_payment_method_per_tenant(
    app: Flask, merchant: Merchant, gateway_server: LiveServer, emulator_control: EmulatorControl
) -> None:
    from sqlalchemy import select

    from apg.payments.models import PaymentMethod, PaymentTransaction

    # Decided at once, so the emulator's one-open-prompt-per-phone lock lets B prompt it too.
    emulator_control.scenario("254712345611", result_code=0, delay_seconds=0, delivery="drop")
    other = Merchant(gateway_server.url, make_tenant(app, "Tenant B")[1])
    a = merchant.create_payment(phone_number="0712345611").json()
    b = other.create_payment(phone_number="0712345612").json()
    c = other.create_payment(phone_number="0712345611").json()  # A's customer pays B too
    with app.app_context():
        method_of = {
            p.id: db.session.get(PaymentMethod, p.payment_method_id)
            for p in db.session.execute(select(PaymentTransaction)).scalars()
        }
    assert method_of[a["id"]].id != method_of[c["id"]].id
    assert (
        method_of[c["id"]].tenant_id == method_of[b["id"]].tenant_id != method_of[a["id"]].tenant_id
    )
    assert method_of[c["id"]].phone_number == "254712345611"
