"""Key modes at every call: test keys (apg_test_…) use only emulator and sandbox accounts,
live keys (apg_live_…) only production ones. Chosen accounts are of the key's mode; a named
account of the other mode is a 403 key_mode_mismatch, before anything is sent or recorded."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from apg import onboarding
from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.payments.operations import NewPayment
from apg.security.events import SecurityEvent
from apg.tenants import service as tenants
from daraja_emulator import EmulatorServer
from tests.support.factories import make_account, make_payment, make_tenant, payment_body

INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
B2B = {
    "amount": 19000,
    "receiver_shortcode": "600000",
    "command_id": "BusinessPayBill",
    "account_reference": "INV-001",
    "requester": "0708374149",
}
SIMULATION = {"amount": 100, "phone_number": "0708374149", "bill_ref_number": "Test"}
# (method, path, body (None: the account goes in the query string), kind of account it names)
ROUTES = [
    ("POST", "/api/v1/payouts", {"amount": 10000, "phone_number": "0708374149"}, "b2c"),
    ("POST", "/api/v1/b2b-payments", B2B, "b2b"),
    ("POST", "/api/v1/balance-inquiries", {}, "paybill"),
    ("POST", "/api/v1/transaction-status-queries", {"transaction_id": "NLJ7RT61SV"}, "paybill"),
    ("POST", "/api/v1/c2b/register-urls", {}, "paybill"),
    ("POST", "/api/v1/c2b/simulate", SIMULATION, "paybill"),
    ("PUT", "/api/v1/c2b/validation-rules", {"min_amount": 100}, "paybill"),
    ("GET", "/api/v1/c2b/validation-rules", None, "paybill"),
    ("GET", "/api/v1/accounts/{account}/diagnostics", None, "paybill"),
    ("POST", "/api/v1/payments/{payment}/reversals", {"reason": "Refund"}, "paybill"),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _, _ in ROUTES]
Sent = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def daraja(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Sent:
    """Daraja accepts every command sent by processor._call; returns what was sent."""
    sent: Sent = []

    def accept(creds: Any, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        sent.append((path, payload))
        return {
            "ResponseCode": "0",
            "ResponseDescription": "Accept the service request successfully.",
            "ConversationID": f"AG_{uuid.uuid4().hex[:20]}",
            "OriginatorConversationID": str(uuid.uuid4()),
        }

    monkeypatch.setattr(app.extensions["apg"].processors.get("mpesa"), "_call", accept)
    return sent


@pytest.fixture
def mixed(app: Flask, emulator: EmulatorServer) -> dict[str, str]:
    """A tenant with accounts of both modes (production ones oldest, so they would be picked
    first were the mode ignored), a live key and a test key. Production talks to the emulator."""
    production = {"environment": "production", "base_url": emulator.url, **INITIATOR}
    tenant_id, live_key = make_tenant(app, "Both Modes Ltd", **production)
    ids = {"tenant": tenant_id, "live": live_key}
    with app.app_context():
        services = app.extensions["apg"]
        [paybill] = onboarding.describe_merchant(services, tenant_id).mpesa_accounts
        ids["production paybill"] = paybill.id
        for environment, shortcode, kind in (
            ("production", "600101", "b2c"),
            ("production", "600102", "b2b"),
            ("emulator", "174379", "paybill"),
            ("emulator", "600000", "b2c"),
            ("emulator", "600001", "b2b"),
        ):
            settings = production if environment == "production" else INITIATOR
            no_passkey = {} if kind == "paybill" else {"passkey": None}
            account = make_account(**settings, shortcode=shortcode, kind=kind, **no_passkey)
            added = onboarding.add_merchant_account(services, tenant_id, account)
            ids[f"{environment} {kind}"] = added.id
        ids["test"] = tenants.add_api_key(tenant_id, "test", services.clock.now())
        db.session.commit()
    return ids


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def call(
    app: Flask,
    client: FlaskClient,
    key: str,
    route: tuple[str, str, dict[str, Any] | None, str],
    account_id: str,
    tenant_id: str,
) -> Any:
    method, path, body, _ = route
    if "{payment}" in path:  # a reversal names no account: it takes the payment's
        paid = {"status": "completed", "receipt": "NLJ7RT61SV"}
        payment = make_payment(app, tenant_id, account_id=account_id, **paid)
        return client.open(
            path.format(payment=payment), method=method, json=body, headers=bearer(key)
        )
    if "{account}" in path:
        return client.open(path.format(account=account_id), method=method, headers=bearer(key))
    if body is None:
        query = {"account_id": account_id}
        return client.open(path, method=method, query_string=query, headers=bearer(key))
    return client.open(
        path, method=method, json={**body, "account_id": account_id}, headers=bearer(key)
    )


def payments(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count(PaymentTransaction.id))).scalar_one())


def mismatches(app: Flask) -> list[SecurityEvent]:
    with app.app_context():
        query = select(SecurityEvent).where(SecurityEvent.kind == "key_mode_mismatch")
        return list(db.session.execute(query).scalars())


NAMING_ROUTES = [route for route in ROUTES if "{payment}" not in route[1]]


@pytest.mark.parametrize("route", NAMING_ROUTES, ids=[" ".join(r[:2]) for r in NAMING_ROUTES])
@pytest.mark.parametrize(
    ("key", "environment"), [("test", "production"), ("live", "emulator")], ids=["test", "live"]
)
def test_an_account_of_the_other_mode_is_a_403_before_anything_is_sent(
    app: Flask,
    client: FlaskClient,
    mixed: dict[str, str],
    daraja: Sent,
    route: tuple[str, str, dict[str, Any] | None, str],
    key: str,
    environment: str,
) -> None:
    account_id = mixed[f"{environment} {route[3]}"]
    before = payments(app) + ("{payment}" in route[1])

    response = call(app, client, mixed[key], route, account_id, mixed["tenant"])

    error = response.json["error"]
    assert (response.status_code, error["code"]) == (403, "key_mode_mismatch"), error
    assert error["type"] == "invalid_request_error"
    assert f"{key} key" in error["message"] and account_id in error["message"]
    for words in ("emulator and sandbox", "production"):
        assert words in error["message"]
    assert daraja == [] and payments(app) == before
    [event] = mismatches(app)
    assert (event.tenant_id, event.path) == (mixed["tenant"], response.request.path)
    detail = json.loads(event.detail)
    assert (detail["key_prefix"], detail["account_id"]) == (mixed[key][:13], account_id)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_test_key_with_its_own_modes_account_is_served(
    app: Flask,
    client: FlaskClient,
    mixed: dict[str, str],
    daraja: Sent,
    route: tuple[str, str, dict[str, Any] | None, str],
) -> None:
    account_id = mixed[f"emulator {route[3]}"]
    response = call(app, client, mixed["test"], route, account_id, mixed["tenant"])
    assert response.status_code < 400, response.json
    assert mismatches(app) == []


@pytest.mark.parametrize(
    ("key", "environment"), [("test", "emulator"), ("live", "production")], ids=["test", "live"]
)
def test_an_account_left_unnamed_is_chosen_among_the_keys_modes(
    client: FlaskClient, mixed: dict[str, str], daraja: Sent, key: str, environment: str
) -> None:
    headers = bearer(mixed[key])
    inquiry = client.post("/api/v1/balance-inquiries", json={}, headers=headers)
    assert inquiry.status_code == 201, inquiry.json
    assert inquiry.json["account_id"] == mixed[f"{environment} paybill"]
    payout = client.post(
        "/api/v1/payouts", json={"amount": 10000, "phone_number": "0708374149"}, headers=headers
    )
    assert payout.json["account_id"] == mixed[f"{environment} b2c"]


@pytest.mark.parametrize("key", ["test", "live"])
def test_an_stk_push_goes_through_the_keys_modes_paybill(
    app: Flask, client: FlaskClient, mixed: dict[str, str], key: str
) -> None:
    created = client.post("/api/v1/payments", json=payment_body(), headers=bearer(mixed[key]))
    assert created.status_code == 201, created.json
    with app.app_context():
        account_id = db.session.get(PaymentTransaction, created.json["id"]).account_id
    environment = "emulator" if key == "test" else "production"
    assert account_id == mixed[f"{environment} paybill"]


def test_no_account_of_the_keys_mode_is_the_no_account_error_naming_the_mode(
    app: Flask, client: FlaskClient
) -> None:
    tenant_id, test_key = make_tenant(app, "Test Paybill Only", **INITIATOR)
    with app.app_context():
        production_b2c = make_account(
            kind="b2c", shortcode="600101", passkey=None, environment="production", **INITIATOR
        )
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, production_b2c)
    response = client.post(
        "/api/v1/payouts",
        json={"amount": 10000, "phone_number": "0708374149"},
        headers=bearer(test_key),
    )
    error = response.json["error"]
    assert (response.status_code, error["code"], error["param"]) == (
        400,
        "no_account",
        "account_id",
    )
    assert "test key" in error["message"] and "emulator or sandbox" in error["message"]
    assert payments(app) == 0


def test_a_refusal_leaves_the_idempotency_key_free_for_the_corrected_request(
    client: FlaskClient, mixed: dict[str, str], daraja: Sent
) -> None:
    headers = {**bearer(mixed["test"]), "Idempotency-Key": "balance-1"}
    wrong = {"account_id": mixed["production paybill"]}
    assert client.post("/api/v1/balance-inquiries", json=wrong, headers=headers).status_code == 403
    right = {"account_id": mixed["emulator paybill"]}
    retried = client.post("/api/v1/balance-inquiries", json=right, headers=headers)
    assert retried.status_code == 201, retried.json


def test_without_a_key_an_operator_path_may_use_any_account(
    app: Flask, mixed: dict[str, str], daraja: Sent
) -> None:
    """The CLI, the worker and the doctor have no API key: their mode is None (any)."""
    new = NewPayment(
        amount=None,
        currency="KES",
        phone_number=None,
        reference="",
        payment_method_type="mpesa_balance",
        details={"remarks": "ops"},
    )
    with app.app_context():
        payments_ = app.extensions["apg"].payments
        for account_id in (mixed["production paybill"], mixed["emulator paybill"]):
            named = NewPayment(**{**new.__dict__, "account_id": account_id})
            assert payments_.initiate(mixed["tenant"], named).account_id == account_id


@pytest.mark.parametrize(
    ("key", "other", "own"),
    [
        ("test", "production paybill", "emulator paybill"),
        ("live", "emulator paybill", "production paybill"),
    ],
    ids=["test", "live"],
)
def test_the_other_modes_operations_are_invisible(
    app: Flask,
    client: FlaskClient,
    mixed: dict[str, str],
    daraja: Sent,
    key: str,
    other: str,
    own: str,
) -> None:
    """A test key never reads (nor refreshes, nor reverses) a live payment, nor the reverse:
    to it, the other mode's operations do not exist."""
    hidden = make_payment(app, mixed["tenant"], account_id=mixed[other], status="processing")
    seen = make_payment(app, mixed["tenant"], account_id=mixed[own], status="processing")
    headers = bearer(mixed[key])
    for path in (
        f"/api/v1/payments/{hidden}",
        f"/api/v1/payments/{hidden}?refresh=true",
        f"/api/v1/payments/{hidden}/events",
        f"/api/payments/{hidden}/check_status/",
    ):
        response = client.get(path, headers=headers)
        assert (response.status_code, response.json["error"]["code"]) == (404, "resource_missing")
    reversal = client.post(
        f"/api/v1/payments/{hidden}/reversals", json={"reason": "Refund"}, headers=headers
    )
    assert reversal.status_code == 404
    listed = client.get("/api/v1/payments", headers=headers).json["data"]
    assert [payment["id"] for payment in listed] == [seen]
    assert daraja == []  # nothing was asked of M-Pesa about the hidden one


def test_an_idempotency_key_is_never_replayed_across_modes(
    client: FlaskClient, mixed: dict[str, str], daraja: Sent
) -> None:
    body = {"amount": 10000, "phone_number": "0708374149"}
    first = client.post(
        "/api/v1/payouts", json=body, headers={**bearer(mixed["test"]), "Idempotency-Key": "k-1"}
    )
    assert first.status_code < 300, first.json
    again = client.post(
        "/api/v1/payouts", json=body, headers={**bearer(mixed["live"]), "Idempotency-Key": "k-1"}
    )
    assert again.status_code == 422  # another request with a used key, not the test one's answer
    assert "Idempotent-Replayed" not in again.headers
    assert len(daraja) == 1
