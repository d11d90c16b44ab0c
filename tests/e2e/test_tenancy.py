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
