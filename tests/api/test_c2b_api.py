"""/api/v1/c2b: register URLs and simulate (against a recording Daraja on loopback), the
validation rules, and the payments customers sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from apg.extensions import db
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.tenants.models import Tenant
from tests.support.factories import make_payment, make_tenant
from tests.support.servers import LiveServer, closed_port_url

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
TOKEN = {"access_token": "T0k3nT0k3nT0k3nT0k3nT0k3nT0k3", "expires_in": "3599"}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


class RecordingDaraja:
    """Daraja on loopback: OAuth works; each product POST is recorded (path, JSON body) and
    answered with `answer` (status, body)."""

    def __init__(self) -> None:
        self.server = LiveServer(self).start()
        self.url = self.server.url
        self.reset()

    def reset(self) -> None:
        self.answer = (200, sample("c2b_registerurl_response_v2_daraja-docs.json"))
        self.posts: list[tuple[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/oauth/"):
            response = Response(json.dumps(TOKEN), content_type="application/json")
        else:
            self.posts.append((request.path, request.get_json()))
            status, body = self.answer
            response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)


@pytest.fixture(scope="module")
def recording_daraja() -> Iterator[RecordingDaraja]:
    fake = RecordingDaraja()
    yield fake
    fake.server.stop()


@pytest.fixture
def daraja(recording_daraja: RecordingDaraja) -> RecordingDaraja:
    recording_daraja.reset()
    return recording_daraja


def tenant_on(app: Flask, base_url: str, **account: Any) -> tuple[str, dict[str, str]]:
    tenant_id, key = make_tenant(app, "C2B shop", base_url=base_url, **account)
    return tenant_id, {"Authorization": f"Bearer {key}"}


def callback_base(app: Flask, gateway_server: LiveServer, tenant_id: str) -> str:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    return f"{gateway_server.url}/webhooks/daraja/{token}"


# --- register URLs ------------------------------------------------------------------------


def test_register_urls_sends_darajas_body_and_remembers_the_registration(
    app: Flask, client: FlaskClient, gateway_server: LiveServer, daraja: RecordingDaraja
) -> None:
    tenant_id, headers = tenant_on(app, daraja.url, shortcode="600984")
    response = client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    assert response.status_code == 200, response.json
    base = callback_base(app, gateway_server, tenant_id)
    assert daraja.posts == [
        (
            "/mpesa/c2b/v2/registerurl",
            {
                "ShortCode": "600984",
                "ResponseType": "Completed",
                "ConfirmationURL": f"{base}/c2b-confirmation",
                "ValidationURL": f"{base}/c2b-validation",
            },
        )
    ]
    body = response.json
    assert body["object"] == "c2b_registration" and body["shortcode"] == "600984"
    assert (body["response_type"], body["version"]) == ("Completed", "v2")
    assert body["confirmation_url"] == f"{base}/c2b-confirmation"
    assert body["originator_conversation_id"] == "6e86-45dd-91ac-fd5d4178ab523408729"
    assert body["response_description"] == "Success"
    with app.app_context():
        [stored] = db.session.execute(select(C2BRegistration)).scalars()
        assert (stored.account_id, stored.tenant_id) == (body["account_id"], tenant_id)
        assert stored.validation_url == f"{base}/c2b-validation"


def test_registering_again_updates_the_registration(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    _, headers = tenant_on(app, daraja.url)
    client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    daraja.answer = (200, sample("c2b_registerurl_response_v1_daraja-docs.json"))
    again = {"response_type": "Cancelled", "version": "v1"}
    response = client.post("/api/v1/c2b/register-urls", json=again, headers=headers)
    assert response.status_code == 200
    assert daraja.posts[-1][0] == "/mpesa/c2b/v1/registerurl"
    assert daraja.posts[-1][1]["ResponseType"] == "Cancelled"
    with app.app_context():
        [stored] = db.session.execute(select(C2BRegistration)).scalars()
        assert (stored.version, stored.originator_conversation_id) == ("v1", "7619-37765134-1")


def test_a_refused_registration_is_a_424_that_says_what_to_do(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    _, headers = tenant_on(app, daraja.url)
    refusal = {
        "requestId": "1-2-3",
        "errorCode": "500.003.1001",
        "errorMessage": "Urls are already registered.",
    }
    daraja.answer = (500, refusal)
    response = client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    assert response.status_code == 424
    error = response.json["error"]
    assert (error["code"], error["daraja_code"]) == ("daraja_rejected", "500.003.1001")
    assert "URL Management" in error["message"]
    with app.app_context():
        assert db.session.execute(select(C2BRegistration)).first() is None


def test_registering_while_daraja_is_unreachable_is_a_503(app: Flask, client: FlaskClient) -> None:
    _, headers = tenant_on(app, closed_port_url())
    response = client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (503, "upstream_unavailable")


def test_production_urls_must_be_https_before_anything_is_sent(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    _, headers = tenant_on(app, daraja.url, environment="production")  # the gateway is http://
    response = client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    assert response.status_code == 503
    error = response.json["error"]
    assert (error["type"], error["code"]) == ("configuration_error", "callback_url_rejected")
    assert error["setting"] == "callbacks.public_base_url" and daraja.posts == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"response_type": "completed"}, "response_type"),
        ({"version": "v3"}, "version"),
        ({"account_id": "mpa_nobody"}, "account_id"),
    ],
)
def test_register_bad_input_is_a_400_naming_the_field(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja, body: dict[str, Any], param: str
) -> None:
    _, headers = tenant_on(app, daraja.url)
    response = client.post("/api/v1/c2b/register-urls", json=body, headers=headers)
    assert (response.status_code, response.json["error"]["param"]) == (400, param)
    assert daraja.posts == []


# --- simulate -----------------------------------------------------------------------------


def test_simulate_sends_the_docs_typed_body(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    _, headers = tenant_on(app, daraja.url, shortcode="600984")
    daraja.answer = (200, sample("c2b_simulate_response_v2_daraja-docs.json"))
    body = {"amount": 100, "phone_number": "0708374149", "bill_ref_number": "Test Ref"}
    response = client.post("/api/v1/c2b/simulate", json=body, headers=headers)
    assert response.status_code == 202, response.json
    assert daraja.posts == [
        ("/mpesa/c2b/v2/simulate", sample("c2b_simulate_request_daraja-docs.json"))
    ]
    assert response.json["originator_conversation_id"] == "53e3-4aa8-9fe0-8fb5e4092cdd3405976"
    assert response.json["phone_number"] == "254708374149"


def test_simulate_on_a_production_account_is_refused_before_any_call(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    _, headers = tenant_on(app, daraja.url, environment="production")
    body = {"amount": 100, "phone_number": "0708374149", "bill_ref_number": "Test Ref"}
    response = client.post("/api/v1/c2b/simulate", json=body, headers=headers)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "simulation_not_available"
    assert error["message"] == "Daraja has no simulation in production: pay from a real phone."
    assert daraja.posts == []


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"bill_ref_number": None}, "bill_ref_number"),  # a paybill needs the account number
        ({"amount": 150}, "amount"),
        ({"phone_number": "12345"}, "phone_number"),
        ({"command_id": "BusinessPayment"}, "command_id"),
    ],
)
def test_simulate_bad_input_is_a_400_naming_the_field(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja, change: dict[str, Any], param: str
) -> None:
    _, headers = tenant_on(app, daraja.url)
    body = {"amount": 100, "phone_number": "0708374149", "bill_ref_number": "A1"} | change
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/c2b/simulate", json=body, headers=headers)
    assert (response.status_code, response.json["error"]["param"]) == (400, param)


# --- validation rules ---------------------------------------------------------------------


def test_validation_rules_are_empty_until_set_then_replaced_whole(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    empty = client.get("/api/v1/c2b/validation-rules", headers=api_headers).json
    assert empty["object"] == "c2b_validation_rules" and empty["account_id"].startswith("mpa_")
    assert (empty["account_number_pattern"], empty["allowed_account_references"]) == (None, [])
    rules = {
        "account_number_pattern": r"INV-\d{4}",
        "min_amount": 10000,
        "max_amount": 5000000,
        "allowed_account_references": ["RENT"],
    }
    put = client.put("/api/v1/c2b/validation-rules", json=rules, headers=api_headers)
    assert put.status_code == 200
    got = client.get("/api/v1/c2b/validation-rules", headers=api_headers).json
    assert {k: got[k] for k in rules} == rules and got["updated_at"]
    client.put("/api/v1/c2b/validation-rules", json={"min_amount": 100}, headers=api_headers)
    got = client.get("/api/v1/c2b/validation-rules", headers=api_headers).json
    assert (got["account_number_pattern"], got["min_amount"], got["max_amount"]) == (
        None,
        100,
        None,
    )


@pytest.mark.parametrize(
    ("rules", "param"),
    [
        ({"account_number_pattern": "INV-("}, "account_number_pattern"),
        ({"account_number_pattern": "(a+)+"}, "account_number_pattern"),
        ({"account_number_pattern": ""}, "account_number_pattern"),
        ({"min_amount": 500, "max_amount": 100}, "min_amount"),
        ({"min_amount": -1}, "min_amount"),
        ({"max_amount": "100"}, "max_amount"),
        ({"allowed_account_references": "RENT"}, "allowed_account_references"),
        ({"account_id": "mpa_nobody"}, "account_id"),
    ],
)
def test_rules_that_cannot_work_are_a_400_naming_the_field(
    client: FlaskClient, api_headers: dict[str, str], rules: dict[str, Any], param: str
) -> None:
    response = client.put("/api/v1/c2b/validation-rules", json=rules, headers=api_headers)
    assert response.status_code == 400, response.json
    assert response.json["error"]["param"] == param


def test_a_tenant_cannot_read_or_set_another_tenants_rules(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    mine = client.get("/api/v1/c2b/validation-rules", headers=api_headers).json["account_id"]
    _, key = make_tenant(app, "Tenant B")
    other = {"Authorization": f"Bearer {key}"}
    for response in (
        client.get(f"/api/v1/c2b/validation-rules?account_id={mine}", headers=other),
        client.put("/api/v1/c2b/validation-rules", json={"account_id": mine}, headers=other),
    ):
        assert (response.status_code, response.json["error"]["code"]) == (400, "no_account")


# --- payments -----------------------------------------------------------------------------


def confirm(client: FlaskClient, app: Flask, tenant_id: str, **change: Any) -> None:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    body = sample("c2b_confirmation_v2_masked_daraja-docs.json") | change
    response = client.post(f"/webhooks/daraja/{token}/c2b-confirmation", json=body)
    assert response.status_code == 200


def test_a_confirmed_payment_is_listed_and_fetched_as_it_arrived(
    app: Flask, client: FlaskClient
) -> None:
    tenant_id, key = make_tenant(app, "Shop", shortcode="600966")
    headers = {"Authorization": f"Bearer {key}"}
    confirm(client, app, tenant_id)
    confirm(
        client, app, tenant_id, TransID="RKL51ZDR5G", BillRefNumber="INV-2", MSISDN="254708374149"
    )
    listed = client.get("/api/v1/c2b/payments", headers=headers).json
    assert [p["reference"] for p in listed["data"]] == ["INV-2", "Sample Transaction"]
    filtered = client.get("/api/v1/c2b/payments?reference=INV-2", headers=headers).json
    assert [p["mpesa_receipt_number"] for p in filtered["data"]] == ["RKL51ZDR5G"]
    payment = client.get(f"/api/v1/c2b/payments/{listed['data'][1]['id']}", headers=headers).json
    assert payment["object"] == "c2b_payment"
    assert (payment["amount"], payment["currency"], payment["status"]) == (500, "KES", "completed")
    assert (payment["msisdn"], payment["msisdn_format"], payment["phone_number"]) == (
        "2547 ***** 126",
        "masked",
        None,
    )
    assert (payment["first_name"], payment["middle_name"], payment["last_name"]) == (
        "NICHOLAS",
        None,
        None,
    )
    assert (payment["business_short_code"], payment["mpesa_transaction_type"]) == (
        "600966",
        "Pay Bill",
    )
    assert payment["org_account_balance"] == 2500
    assert payment["transaction_date"].startswith("2023-11-21T09:13:25")
    plain = client.get(f"/api/v1/c2b/payments/{listed['data'][0]['id']}", headers=headers).json
    assert (plain["phone_number"], plain["msisdn_format"]) == ("254708374149", "plain")


def test_the_c2b_resource_shows_only_the_tenants_c2b_payments(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    stk = make_payment(app, tenant[0])
    other_id, _ = make_tenant(app, "Shop", shortcode="600966")
    confirm(client, app, other_id)
    assert client.get("/api/v1/c2b/payments", headers=api_headers).json["data"] == []
    response = client.get(f"/api/v1/c2b/payments/{stk}", headers=api_headers)
    assert (response.status_code, response.json["error"]["code"]) == (404, "resource_missing")


def test_a_throttled_registration_is_a_429_with_retry_after(
    app: Flask, client: FlaskClient, daraja: RecordingDaraja
) -> None:
    _, headers = tenant_on(app, daraja.url)
    spike = {"requestId": "1", "errorCode": "500.003.02", "errorMessage": "Spike Arrest Violation"}
    daraja.answer = (500, spike)
    response = client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_an_open_breaker_answers_c2b_commands_at_once_with_retry_after(
    app: Flask, client: FlaskClient
) -> None:
    _, headers = tenant_on(app, closed_port_url())
    threshold = app.extensions["apg"].settings.circuit_breaker.failure_threshold
    for _ in range(threshold):  # each failed try counts
        client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    response = client.post("/api/v1/c2b/register-urls", json={}, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (503, "processor_unavailable")
    assert int(response.headers["Retry-After"]) > 0
