"""The seeds' endpoints end to end: seed client -> gateway -> emulator -> callback -> gateway,
over real HTTP, every answer checked against the gateway's own document."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask

from tests.api.test_seed_aliases import check_seed_response
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.openapi import DocumentCheck
from tests.support.servers import LiveServer


class SeedClient:
    """An integration written against the seeds, talking to the gateway over HTTP."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        spec = requests.get(f"{base_url}/api/openapi.json", timeout=10).json()
        self.document = DocumentCheck(spec)

    def checkout(self, **body: Any) -> dict[str, Any]:
        sent = {"phone_number": "0708374149", "amount": 100, "reference": "INV-1"}
        return self._ok("POST", "/payments/checkout/", json={**sent, **body})

    def query(self, checkout_request_id: str) -> requests.Response:
        body = {"checkout_request_id": checkout_request_id}
        return self._send("POST", "/payments/query/", json=body)

    def initiate_mpesa(self, **body: Any) -> dict[str, Any]:
        sent = {"order_id": "ORD-42", "phone_number": "0708374149", "amount": 250}
        return self._ok("POST", "/api/payments/initiate_mpesa/", json={**sent, **body})

    def check_status(self, payment_id: str) -> requests.Response:
        return self._send("GET", f"/api/payments/{payment_id}/check_status/")

    def _ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, f"{self.base_url}{path}", timeout=30, **kwargs)
        status, headers, body = response.status_code, response.headers, response.content
        check_seed_response(self.document, method, path, status, headers, body)
        return response


@pytest.fixture
def seed_client(gateway_server: LiveServer, tenant: tuple[str, str]) -> SeedClient:
    return SeedClient(gateway_server.url, tenant[1])


def test_checkout_then_settle_then_query_answers_paid_with_a_receipt(
    seed_client: SeedClient, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    pushed = seed_client.checkout(amount=150, description="Order 42")
    checkout_request_id = pushed["CheckoutRequestID"]
    assert (pushed["ResponseCode"], checkout_request_id[:6]) == ("0", "ws_CO_")

    waiting = seed_client.query(checkout_request_id)  # asks the emulator: not decided yet
    assert waiting.status_code == 200
    assert waiting.json()["errorCode"] == "500.001.1001"
    assert waiting.json()["requestId"] == checkout_request_id

    assert emulator_control.settle(checkout_request_id)["status_code"] == 200
    answer = seed_client.query(checkout_request_id).json()
    local = answer.pop("local_transaction")
    assert answer["ResultCode"] == "0"
    assert answer["ResultDesc"] == "The service request is processed successfully."
    assert (answer["CheckoutRequestID"], answer["MerchantRequestID"]) == (
        checkout_request_id,
        pushed["MerchantRequestID"],
    )
    assert (local["status"], local["amount"], local["phone_number"]) == ("0", 150, "+254708374149")
    assert len(local["receipt_no"]) == 10

    payment = merchant.get_payment(local["transaction_no"]).json()  # the v1 view agrees
    assert (payment["status"], payment["amount"]) == ("completed", 15000)
    assert payment["mpesa_receipt_number"] == local["receipt_no"]


def test_a_cancelled_prompt_queries_as_1032_and_status_1(
    seed_client: SeedClient, emulator_control: EmulatorControl
) -> None:
    checkout_request_id = seed_client.checkout(phone_number="0708374151")["CheckoutRequestID"]
    emulator_control.settle(checkout_request_id)
    answer = seed_client.query(checkout_request_id).json()
    assert answer["ResultCode"] == "1032"
    local = answer["local_transaction"]
    assert (local["status"], local["receipt_no"]) == ("1", None)


def test_initiate_mpesa_then_check_status_follows_the_payment_to_completed(
    seed_client: SeedClient, emulator_control: EmulatorControl
) -> None:
    started = seed_client.initiate_mpesa(order_id=1042)
    assert (started["success"], started["order_id"], started["amount"]) == (True, "1042", 250)

    before = seed_client.check_status(started["payment_id"]).json()
    assert (before["status"], before["receipt_no"]) == ("processing", None)

    emulator_control.settle(started["checkout_request_id"])
    after = seed_client.check_status(started["payment_id"]).json()
    assert after["status"] == "completed" and len(after["receipt_no"]) == 10
    assert {k: after[k] for k in ("payment_id", "order_id", "amount", "checkout_request_id")} == {
        k: started[k] for k in ("payment_id", "order_id", "amount", "checkout_request_id")
    }


def test_another_tenant_cannot_see_the_payment_by_either_id(
    app: Flask, seed_client: SeedClient, gateway_server: LiveServer
) -> None:
    started = seed_client.initiate_mpesa()
    _, their_key = make_tenant(app, "Tenant B")
    other = SeedClient(gateway_server.url, their_key)
    assert other.query(started["checkout_request_id"]).status_code == 404
    assert other.check_status(started["payment_id"]).status_code == 404
