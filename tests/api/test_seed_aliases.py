"""The seeds' endpoint shapes: Daraja-shaped and seed-shaped answers over the v1 services, with
the v1 auth, errors, idempotency and tenancy, each answer checked against the document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_core.testing import MockRequest, MockResponse
from werkzeug.test import TestResponse

from apg.extensions import db
from apg.idempotency.models import IdempotencyKey
from apg.idempotency.service import fingerprint
from apg.payments.models import ProcessorReference
from tests.support.clock import ShiftableClock
from tests.support.factories import make_payment, make_tenant
from tests.support.openapi import DocumentCheck, ResponseBreaksTheDocument, document_of

DARAJA = Path(__file__).resolve().parent.parent / "fixtures" / "daraja"
CHECKOUT = "/payments/checkout/"
QUERY = "/payments/query/"
INITIATE = "/api/payments/initiate_mpesa/"
ACCEPTED = "Success. Request accepted for processing"
PENDING = {
    "errorCode": "500.001.1001",
    "errorMessage": "The transaction is being processed",
}


def daraja_keys(sample: str) -> set[str]:
    return set(json.loads((DARAJA / sample).read_text()))


def check_seed_response(
    check: DocumentCheck, method: str, path: str, status: int, headers: Any, body: bytes
) -> None:
    """tests/support/openapi.py checks /api/v1/ only; the seed paths are checked here the same
    way: status, headers and JSON body against the app's own document."""
    content_type = headers.get("Content-Type", "").split(";")[0]
    try:
        check.api.validate_response(
            MockRequest("http://localhost", method.lower(), path),
            MockResponse(body, status, dict(headers), content_type),
        )
    except Exception as exc:  # openapi-core's errors nest the field-level cause
        detail = getattr(exc.__cause__, "schema_errors", None) or exc.__cause__ or exc
        raise ResponseBreaksTheDocument(f"{method} {path} -> {status}: {detail}") from exc


def check_test_response(app: Flask, response: TestResponse) -> TestResponse:
    request = response.request
    check_seed_response(
        document_of(app),
        request.method,
        request.path,
        response.status_code,
        response.headers,
        response.data,
    )
    return response


class Seeds:
    """The test client on the seed paths, every answer checked against the document."""

    def __init__(self, app: Flask, client: FlaskClient, headers: dict[str, str]) -> None:
        self.app, self.client, self.headers = app, client, headers

    def post(self, path: str, body: Any, key: str | None = None, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        return self._checked(self.client.post(path, json=body, headers=headers, **kwargs))

    def send(self, path: str, **kwargs: Any) -> TestResponse:
        return self._checked(self.client.post(path, headers=self.headers, **kwargs))

    def check_status(self, payment_id: str) -> TestResponse:
        path = f"/api/payments/{payment_id}/check_status/"
        return self._checked(self.client.get(path, headers=self.headers))

    def _checked(self, response: TestResponse) -> TestResponse:
        return check_test_response(self.app, response)


@pytest.fixture
def seeds(app: Flask, client: FlaskClient, api_headers: dict[str, str]) -> Seeds:
    return Seeds(app, client, api_headers)


def checkout_body(**overrides: Any) -> dict[str, Any]:
    body = {"phone_number": "0708374149", "amount": 100, "reference": "INV-1"}
    return {**body, "description": "Order 42", **overrides}


def initiate_body(**overrides: Any) -> dict[str, Any]:
    return {"order_id": "ORD-42", "phone_number": "0708374149", "amount": 250, **overrides}


def add_merchant_request_id(app: Flask, tenant_id: str, payment_id: str, value: str) -> None:
    with app.app_context():
        db.session.add(
            ProcessorReference(
                transaction_id=payment_id,
                tenant_id=tenant_id,
                processor="mpesa",
                kind="merchant_request_id",
                value=value,
                created_at=datetime.now(UTC),
            )
        )
        db.session.commit()


# --- POST /payments/checkout/ -------------------------------------------------------------------


def test_checkout_answers_like_darajas_stk_push_and_pays_in_cents(
    seeds: Seeds, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = seeds.post(CHECKOUT, checkout_body(amount=150))
    assert response.status_code == 200, response.json
    answer = response.json
    assert set(answer) == daraja_keys("stk_response_daraja-docs.json")
    assert answer["ResponseCode"] == "0"
    assert answer["ResponseDescription"] == answer["CustomerMessage"]
    assert answer["CustomerMessage"] == ACCEPTED
    [payment] = client.get("/api/v1/payments", headers=api_headers).json["data"]
    assert answer["CheckoutRequestID"] == payment["checkout_request_id"]
    assert answer["MerchantRequestID"] == payment["merchant_request_id"]
    assert (payment["amount"], payment["status"]) == (15000, "processing")
    assert (payment["reference"], payment["description"]) == ("INV-1", "Order 42")


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 100.5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 250_001}, "amount"),  # payments.max_amount is KES 250,000
        ({"phone_number": "12345"}, "phone_number"),
        ({"reference": "INV-2024-0001"}, "reference"),  # 13 > 12
        ({"reference": "INV#1"}, "reference"),
        ({"description": "Order 42 today"}, "description"),  # 14 > 13
        ({"currency": "KES"}, "currency"),  # not a seed field
    ],
)
def test_checkout_bad_input_is_a_400_naming_the_field(
    seeds: Seeds, change: dict[str, Any], param: str
) -> None:
    response = seeds.post(CHECKOUT, checkout_body(**change))
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


@pytest.mark.parametrize("missing", ["phone_number", "amount", "reference"])
def test_checkout_requires_phone_amount_and_reference(seeds: Seeds, missing: str) -> None:
    body = checkout_body()
    del body[missing]
    response = seeds.post(CHECKOUT, body)
    assert (response.status_code, response.json["error"]["param"]) == (400, missing)


def test_the_amount_error_speaks_shillings(seeds: Seeds) -> None:
    error = seeds.post(CHECKOUT, checkout_body(amount=250_001)).json["error"]
    assert "from 1 to 250000 shillings" in error["message"]


@pytest.mark.parametrize("path", [CHECKOUT, QUERY, INITIATE])
def test_a_body_not_declared_json_is_415(seeds: Seeds, path: str) -> None:
    response = seeds.send(path, data="amount=100", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path", [CHECKOUT, QUERY, INITIATE])
def test_a_broken_json_body_is_400(seeds: Seeds, path: str) -> None:
    response = seeds.send(path, data="{not json", content_type="application/json")
    assert (response.status_code, response.json["error"]["code"]) == (400, "invalid_json")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", CHECKOUT),
        ("POST", QUERY),
        ("POST", INITIATE),
        ("GET", "/api/payments/pay_1/check_status/"),
    ],
)
def test_every_seed_endpoint_wants_an_api_key(
    app: Flask, client: FlaskClient, method: str, path: str
) -> None:
    response = check_test_response(app, client.open(path, method=method))
    assert response.status_code == 401
    assert response.json["error"]["type"] == "authentication_error"


def test_the_same_idempotency_key_replays_the_checkout_without_a_second_push(
    seeds: Seeds, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    first = seeds.post(CHECKOUT, checkout_body(), key="order-42")
    again = seeds.post(CHECKOUT, checkout_body(), key="order-42")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json == first.json
    assert len(client.get("/api/v1/payments", headers=api_headers).json["data"]) == 1
    other = seeds.post(CHECKOUT, checkout_body(amount=200), key="order-42")
    assert (other.status_code, other.json["error"]["type"]) == (422, "idempotency_error")


def claim_in_flight(app: Flask, tenant_id: str, key: str, path: str, body: Any, at: Any) -> None:
    """A claim on `path` as a worker that died mid-request leaves it: leased, no response."""
    with app.app_context():
        db.session.add(
            IdempotencyKey(
                tenant_id=tenant_id,
                key=key,
                fingerprint=fingerprint("POST", path, body),
                created_at=at,
                locked_until=at + timedelta(seconds=60),
                expires_at=at + timedelta(hours=24),
            )
        )
        db.session.commit()


def test_a_dead_workers_checkout_key_resolves_to_its_payment_in_darajas_shape(
    app: Flask, seeds: Seeds, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    claim_in_flight(app, tenant[0], "crash-1", CHECKOUT, checkout_body(), clock.now())
    make_payment(app, tenant[0], idempotency_key="crash-1", checkout_request_id="ws_CO_crash1")
    assert seeds.post(CHECKOUT, checkout_body(), key="crash-1").status_code == 409  # leased
    clock.shift(timedelta(minutes=5))
    retry = seeds.post(CHECKOUT, checkout_body(), key="crash-1")
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (200, "true")
    assert retry.json["CheckoutRequestID"] == "ws_CO_crash1"
    assert retry.json["MerchantRequestID"] is None  # the factory records no MerchantRequestID


def test_a_dead_workers_key_whose_push_may_have_left_is_outcome_unknown(
    app: Flask, seeds: Seeds, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    claim_in_flight(app, tenant[0], "crash-2", INITIATE, initiate_body(), clock.now())
    payment_id = make_payment(app, tenant[0], status="pending", idempotency_key="crash-2")
    clock.shift(timedelta(minutes=5))
    retry = seeds.post(INITIATE, initiate_body(), key="crash-2")
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (502, "true")
    error = retry.json["error"]
    assert (error["code"], error["payment"]["id"]) == ("outcome_unknown", payment_id)


# --- POST /payments/query/ ----------------------------------------------------------------------


def settled(app: Flask, tenant_id: str, **fields: Any) -> str:
    """A payment with both Daraja refs, in the state `fields` give it."""
    payment_id = make_payment(app, tenant_id, checkout_request_id="ws_CO_q1", **fields)
    add_merchant_request_id(app, tenant_id, payment_id, "29115-34620561-1")
    return payment_id


def test_query_of_a_completed_payment_is_darajas_result_plus_the_local_transaction(
    app: Flask, seeds: Seeds, tenant: tuple[str, str]
) -> None:
    payment_id = settled(
        app,
        tenant[0],
        status="completed",
        amount=150000,
        receipt="NLJ7RT61SV",
        result_code="0",
        result_desc="The service request is processed successfully.",
    )
    response = seeds.post(QUERY, {"checkout_request_id": "ws_CO_q1"})
    assert response.status_code == 200
    answer = response.json
    local = answer.pop("local_transaction")
    assert set(answer) == daraja_keys("stkquery_response_success_daraja-docs.json")
    assert answer == {
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successfully",
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": "ws_CO_q1",
        "ResultCode": "0",
        "ResultDesc": "The service request is processed successfully.",
    }
    created = local.pop("created")
    assert local == {
        "transaction_no": payment_id,
        "phone_number": "+254708374149",
        "amount": 1500,
        "status": "0",
        "receipt_no": "NLJ7RT61SV",
    }
    assert created.startswith("20") and "T" in created


@pytest.mark.parametrize(
    ("status", "code", "desc"),
    [
        ("cancelled", "1032", "Request cancelled by user"),
        ("timeout", "1037", "DS timeout user cannot be reached"),
        ("failed", "2001", "The initiator information is invalid."),
    ],
)
def test_query_of_an_unpaid_payment_carries_m_pesas_code_and_status_1(
    app: Flask, seeds: Seeds, tenant: tuple[str, str], status: str, code: str, desc: str
) -> None:
    settled(app, tenant[0], status=status, result_code=code, result_desc=desc)
    answer = seeds.post(QUERY, {"checkout_request_id": "ws_CO_q1"}).json
    assert (answer["ResultCode"], answer["ResultDesc"]) == (code, desc)
    assert set(answer) - {"local_transaction"} == daraja_keys(
        "stkquery_response_1032_ghostscypher.json"
    )
    assert (answer["local_transaction"]["status"], answer["local_transaction"]["receipt_no"]) == (
        "1",
        None,
    )


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("failed", "resolved by an operator: amount short"),
        ("reversed", "reversed: customer refunded"),
    ],
)
def test_query_never_says_0_of_a_payment_apg_did_not_complete(
    app: Flask, seeds: Seeds, tenant: tuple[str, str], status: str, reason: str
) -> None:
    """M-Pesa said 0, but an operator failed it after review, or it was reversed."""
    settled(app, tenant[0], status=status, result_code="0", status_reason=reason)
    answer = seeds.post(QUERY, {"checkout_request_id": "ws_CO_q1"}).json
    assert (answer["ResultCode"], answer["ResultDesc"]) == ("1", reason)
    assert answer["local_transaction"]["status"] == "1"


@pytest.mark.parametrize("status", ["pending", "unknown", "review"])
def test_query_of_an_undecided_payment_is_darajas_being_processed_envelope(
    app: Flask, seeds: Seeds, tenant: tuple[str, str], status: str
) -> None:
    settled(app, tenant[0], status=status, result_code="0" if status == "review" else None)
    response = seeds.post(QUERY, {"checkout_request_id": "ws_CO_q1"})
    assert response.status_code == 200
    answer = response.json
    assert answer["local_transaction"]["status"] == "1"
    del answer["local_transaction"]
    assert answer == {"requestId": "ws_CO_q1", **PENDING}


def test_query_of_a_processing_payment_asks_m_pesa_first(seeds: Seeds) -> None:
    checkout_request_id = seeds.post(CHECKOUT, checkout_body()).json["CheckoutRequestID"]
    response = seeds.post(QUERY, {"checkout_request_id": checkout_request_id})
    assert response.status_code == 200  # the emulator decides only when a test settles
    assert response.json["errorCode"] == "500.001.1001"
    assert response.json["local_transaction"]["amount"] == 100


def test_query_of_an_unknown_or_another_tenants_checkout_request_id_is_404(
    app: Flask, seeds: Seeds
) -> None:
    other_tenant, _ = make_tenant(app, "Tenant B")
    make_payment(app, other_tenant, status="completed", checkout_request_id="ws_CO_theirs")
    for checkout_request_id in ("ws_CO_theirs", "ws_CO_nobody"):
        response = seeds.post(QUERY, {"checkout_request_id": checkout_request_id})
        assert response.status_code == 404
        error = response.json["error"]
        assert (error["code"], error["param"]) == ("resource_missing", "checkout_request_id")


@pytest.mark.parametrize("body", [{}, {"checkout_request_id": ""}, {"checkout_request_id": 7}])
def test_query_wants_a_checkout_request_id(seeds: Seeds, body: dict[str, Any]) -> None:
    response = seeds.post(QUERY, body)
    assert (response.status_code, response.json["error"]["param"]) == (400, "checkout_request_id")


# --- POST /api/payments/initiate_mpesa/ and GET …/check_status/ ---------------------------------


def test_initiate_mpesa_pays_for_the_order_and_answers_in_the_seeds_shape(
    seeds: Seeds, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = seeds.post(INITIATE, initiate_body())
    assert response.status_code == 200
    answer = response.json
    assert answer == {
        "success": True,
        "message": ACCEPTED,
        "payment_id": answer["payment_id"],
        "order_id": "ORD-42",
        "amount": 250,
        "phone_number": "254708374149",
        "checkout_request_id": answer["checkout_request_id"],
    }
    assert answer["checkout_request_id"].startswith("ws_CO_")
    payment = client.get(f"/api/v1/payments/{answer['payment_id']}", headers=api_headers).json
    assert (payment["amount"], payment["reference"]) == (25000, "ORD-42")
    assert payment["metadata"] == {"order_id": "ORD-42"}


def test_an_integer_order_id_is_taken_as_its_digits(seeds: Seeds) -> None:
    answer = seeds.post(INITIATE, initiate_body(order_id=42)).json
    assert answer["order_id"] == "42"


def test_initiate_mpesa_without_an_amount_is_a_400_naming_it(seeds: Seeds) -> None:
    body = initiate_body()
    del body["amount"]
    error = seeds.post(INITIATE, body).json["error"]
    assert (error["param"], error["code"]) == ("amount", "invalid_request")
    assert "APG keeps no orders" in error["message"]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"order_id": "ORDER-2024-0001"}, "order_id"),  # a reference is 1-12 characters
        ({"order_id": "ORD#1"}, "order_id"),
        ({"order_id": -1}, "order_id"),
        ({"order_id": None}, "order_id"),
        ({"amount": 1.5}, "amount"),
        ({"phone_number": "0208374149"}, "phone_number"),
    ],
)
def test_initiate_mpesa_bad_input_is_a_400_naming_the_field(
    seeds: Seeds, change: dict[str, Any], param: str
) -> None:
    response = seeds.post(INITIATE, initiate_body(**change))
    assert (response.status_code, response.json["error"]["param"]) == (400, param)


def test_initiate_mpesa_replays_for_the_same_idempotency_key(seeds: Seeds) -> None:
    first = seeds.post(INITIATE, initiate_body(), key="ORD-42")
    again = seeds.post(INITIATE, initiate_body(), key="ORD-42")
    assert (again.json, again.headers["Idempotent-Replayed"]) == (first.json, "true")


def test_check_status_answers_close_to_the_initiate_shape(
    app: Flask, seeds: Seeds, tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(
        app,
        tenant[0],
        status="completed",
        receipt="NLJ7RT61SV",
        metadata_={"order_id": "ORD-7"},
        checkout_request_id="ws_CO_s1",
    )
    response = seeds.check_status(payment_id)
    assert response.status_code == 200
    assert response.json == {
        "success": True,
        "payment_id": payment_id,
        "status": "completed",
        "amount": 100,
        "phone_number": "254708374149",
        "checkout_request_id": "ws_CO_s1",
        "receipt_no": "NLJ7RT61SV",
        "order_id": "ORD-7",
    }


def test_check_status_of_a_payment_made_without_an_order_has_a_null_order_id(
    app: Flask, seeds: Seeds, tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0], status="failed")
    answer = seeds.check_status(payment_id).json
    assert (answer["order_id"], answer["checkout_request_id"], answer["status"]) == (
        None,
        None,
        "failed",
    )


def test_check_status_of_another_tenants_payment_is_404(app: Flask, seeds: Seeds) -> None:
    other_tenant, _ = make_tenant(app, "Tenant B")
    theirs = make_payment(app, other_tenant, status="completed")
    for payment_id in (theirs, "pay_nobody"):
        response = seeds.check_status(payment_id)
        assert (response.status_code, response.json["error"]["code"]) == (404, "resource_missing")


# --- the document ---------------------------------------------------------------------------------


def test_the_seed_operations_are_documented_as_a_migration_path(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    replaced_by = {
        ("/payments/checkout/", "post"): "POST /api/v1/payments",
        ("/payments/query/", "post"): "GET /api/v1/payments/{id}?refresh=true",
        ("/api/payments/initiate_mpesa/", "post"): "POST /api/v1/payments",
        ("/api/payments/{payment_id}/check_status/", "get"): "GET /api/v1/payments/{id}",
    }
    for (path, method), v1 in replaced_by.items():
        operation = spec["paths"][path][method]
        assert operation["tags"] == ["seed aliases"]
        assert "Migration path" in operation["description"] and v1 in operation["description"]
    assert "seed aliases" in {tag["name"] for tag in spec["tags"]}


def test_the_seed_check_catches_an_answer_that_breaks_the_document(app: Flask) -> None:
    """check_seed_response is a real check, not a stub."""

    headers = {"Content-Type": "application/json", "X-Request-ID": "req_1"}
    good = {"ResponseCode": "0", "ResponseDescription": ACCEPTED, "CustomerMessage": ACCEPTED}
    good |= {"MerchantRequestID": None, "CheckoutRequestID": "ws_CO_1"}
    check = document_of(app)
    check_seed_response(check, "POST", CHECKOUT, 200, headers, json.dumps(good).encode())
    for broken in (
        {k: v for k, v in good.items() if k != "CheckoutRequestID"},  # required, missing
        {**good, "ResponseCode": 0},  # a number, not Daraja's string
        {**good, "amount": 100},  # undeclared
    ):
        with pytest.raises(ResponseBreaksTheDocument):
            body = json.dumps(broken).encode()
            check_seed_response(check, "POST", CHECKOUT, 200, headers, body)
    with pytest.raises(ResponseBreaksTheDocument):  # an undocumented status
        check_seed_response(check, "POST", QUERY, 201, headers, json.dumps(good).encode())
