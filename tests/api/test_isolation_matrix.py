"""Tenant isolation matrix: every merchant endpoint, called with tenant B's key against tenant
A's objects, answers as if they did not exist; no list shows them.

The endpoints come from the app's URL map, so a new one this matrix does not know fails here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from apg import onboarding
from apg.api.blueprint import Blueprint
from apg.checkout.service import NewSession
from apg.extensions import db
from apg.notifications import endpoints
from apg.notifications.events import public_id
from apg.payments import announcements
from apg.payments.models import PaymentTransaction, ProcessorReference
from apg.processors.mpesa.accounts import stk_account_id
from apg.tenants.service import api_keys_of
from tests.support.factories import make_account, make_payment, make_tenant

INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
UNKNOWN = "zz_no_such_object_0001"  # what an id nobody has gets, the answer to match

# Path parameter -> the kind of tenant A's object that fills it. A new endpoint with a new
# parameter name fails test_the_matrix_covers_every_merchant_endpoint until it is added here.
PARAMETERS = {
    "payment_id": "payment",
    "payout_id": "payout",
    "b2b_payment_id": "b2b_payment",
    "inquiry_id": "balance_inquiry",
    "query_id": "status_query",
    "reversal_id": "reversal",
    "c2b_payment_id": "c2b_payment",
    "account_id": "paybill_account",
    "key_id": "api_key_id",
    "event_id": "event",
    "endpoint_id": "webhook_endpoint",
    "session_id": "checkout_session",
}

# A valid body for each non-GET endpoint with a path parameter: flask-smorest parses the body
# before the view looks the object up, so only a valid one lets the lookup decide.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "reversals.create_reversal"): {"reason": "Refund"},
    ("POST", "api keys.rotate_api_key"): {},
    ("POST", "api keys.revoke_api_key"): {},
    ("PATCH", "webhook endpoints.update_webhook_endpoint"): {"enabled": False},
    ("DELETE", "webhook endpoints.delete_webhook_endpoint"): {},
    ("POST", "events.redeliver_event"): {},
    ("POST", "webhook endpoints.rotate_webhook_endpoint_secret"): {},
}

# Lists (and other reads without an id) whose answer to B must show none of A's objects.
LISTS = {
    ("GET", "payments.list_payments"),
    ("GET", "payouts.list_payouts"),
    ("GET", "b2b.list_b2b_payments"),
    ("GET", "inquiries.list_balance_inquiries"),
    ("GET", "inquiries.list_transaction_status_queries"),
    ("GET", "reversals.list_reversals"),
    ("GET", "c2b.list_c2b_payments"),
    ("GET", "account.get_account"),
    ("GET", "c2b.get_c2b_validation_rules"),
    ("GET", "api keys.list_api_keys"),
    ("GET", "events.list_events"),
    ("GET", "webhook endpoints.list_webhook_endpoints"),
    ("GET", "checkout sessions.list_checkout_sessions"),
}


@dataclass(frozen=True)
class Reference:
    """An endpoint naming an object in its body or query: A's must be answered as an unknown."""

    location: str  # "json" | "query"
    field: str
    kind: str
    valid: dict[str, Any]


B2B_BODY = {
    "amount": 19000,
    "receiver_shortcode": "600000",
    "command_id": "BusinessPayBill",
    "account_reference": "INV-001",
    "requester": "0708374149",
}
REFERENCES: dict[tuple[str, str], Reference] = {
    ("POST", "seed aliases.seed_query"): Reference("json", "checkout_request_id", "checkout", {}),
    ("POST", "payouts.create_payout"): Reference(
        "json", "account_id", "b2c_account", {"amount": 10000, "phone_number": "0708374149"}
    ),
    ("POST", "b2b.create_b2b_payment"): Reference("json", "account_id", "b2b_account", B2B_BODY),
    ("POST", "inquiries.create_balance_inquiry"): Reference(
        "json", "account_id", "paybill_account", {}
    ),
    ("POST", "inquiries.create_transaction_status_query"): Reference(
        "json", "account_id", "paybill_account", {"transaction_id": "NLJ7RT61SV"}
    ),
    ("POST", "c2b.register_c2b_urls"): Reference("json", "account_id", "paybill_account", {}),
    ("POST", "c2b.simulate_c2b_payment"): Reference(
        "json",
        "account_id",
        "paybill_account",
        {"amount": 100, "phone_number": "0708374149", "bill_ref_number": "Test"},
    ),
    ("PUT", "c2b.set_c2b_validation_rules"): Reference(
        "json", "account_id", "paybill_account", {"min_amount": 100}
    ),
    ("GET", "c2b.get_c2b_validation_rules"): Reference(
        "query", "account_id", "paybill_account", {}
    ),
    # A cursor from another tenant must not position B's page.
    ("GET", "payments.list_payments"): Reference("query", "starting_after", "payment", {}),
    ("GET", "payouts.list_payouts"): Reference("query", "starting_after", "payout", {}),
    ("GET", "b2b.list_b2b_payments"): Reference("query", "starting_after", "b2b_payment", {}),
    ("GET", "inquiries.list_balance_inquiries"): Reference(
        "query", "starting_after", "balance_inquiry", {}
    ),
    ("GET", "inquiries.list_transaction_status_queries"): Reference(
        "query", "starting_after", "status_query", {}
    ),
    ("GET", "reversals.list_reversals"): Reference("query", "starting_after", "reversal", {}),
    ("GET", "c2b.list_c2b_payments"): Reference("query", "starting_after", "c2b_payment", {}),
    ("GET", "events.list_events"): Reference("query", "starting_after", "event", {}),
    ("GET", "checkout sessions.list_checkout_sessions"): Reference(
        "query", "starting_after", "checkout_session", {}
    ),
}

# Endpoints that take nothing of anyone's: they only create in the caller's own tenant.
NO_FOREIGN_INPUT = {
    ("POST", "payments.create_payment"),
    ("POST", "seed aliases.seed_checkout"),
    ("POST", "seed aliases.seed_initiate_mpesa"),
    ("POST", "api keys.create_api_key"),  # of the calling key's tenant and mode, nothing else
    ("POST", "webhook endpoints.create_webhook_endpoint"),
    ("POST", "checkout sessions.create_checkout_session"),
}


def merchant_rules(app: Flask) -> list[Rule]:
    """Every rule whose view belongs to a blueprint of the house Api (the merchant API)."""
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if isinstance(app.blueprints.get(rule.endpoint.rpartition(".")[0]), Blueprint)
        ),
        key=lambda rule: rule.rule,
    )


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


RECEIPTS = {
    "payout": "PPP1QQQ2RR",
    "b2b_payment": "BBB1CCC2DD",
    "balance_inquiry": None,
    "status_query": None,
    "reversal": "RRR1SSS2TT",
    "c2b_payment": "CCC1DDD2EE",
}
C2B = {"msisdn": "2547 ***** 126", "msisdn_format": "masked", "business_short_code": "174379"}


def make_victim(app: Flask) -> dict[str, str]:
    """Tenant A with one object of every kind: kind -> id (plus every identifier to hide)."""
    tenant_id, api_key = make_tenant(app, "Tenant A", **INITIATOR)
    with app.app_context():
        services = app.extensions["apg"]
        b2c = onboarding.add_merchant_account(
            services, tenant_id, make_account(kind="b2c", shortcode="600000", **INITIATOR)
        )
        b2b = onboarding.add_merchant_account(
            services, tenant_id, make_account(kind="b2b", shortcode="600001", **INITIATOR)
        )
        objects = {"tenant": tenant_id, "api_key": api_key, "b2c_account": b2c.id}
        objects["b2b_account"] = b2b.id
        objects["paybill_account"] = stk_account_id(tenant_id) or ""
        [key] = api_keys_of(tenant_id)
        objects["api_key_id"] = key.id
    paid = {"status": "completed", "receipt": "AAA1BBB2CC", "paid_amount": 10000}
    objects["checkout"] = "ws_CO_TENANT_A_000001"
    objects["payment"] = make_payment(
        app, tenant_id, checkout_request_id=objects["checkout"], **paid
    )
    operations = {
        "payout": ("b2c_payment", "mpesa_b2c", objects["b2c_account"]),
        "b2b_payment": ("b2b_payment", "mpesa_b2b", objects["b2b_account"]),
        "balance_inquiry": ("balance_inquiry", "mpesa_balance", objects["paybill_account"]),
        "status_query": ("transaction_status", "mpesa_transaction_status", None),
        "reversal": ("reversal", "mpesa_reversal", None),
        "c2b_payment": ("c2b_payment", "mpesa_c2b", None),
    }
    for kind, (transaction_type, method_type, account_id) in operations.items():
        objects[kind] = make_payment(
            app,
            tenant_id,
            transaction_type=transaction_type,
            payment_method_type=method_type,
            account_id=account_id or objects["paybill_account"],
            status="completed",  # final: reading it asks M-Pesa nothing
            receipt=RECEIPTS[kind],
            processor_data={"request": {"payment_id": objects["payment"]}, "result": C2B},
        )
    _add_ref(app, objects["payout"], tenant_id, "conversation_id", "AG_TENANT_A_0000001")
    objects["event"] = _announce(app, objects["payment"])
    with app.app_context():
        owner = endpoints.Owner(tenant_id, key.mode)
        box, hook = app.extensions["apg"].secrets, {"url": "https://a.example/hook"}
        made = endpoints.create(
            owner, {**hook, "event_types": ["*"]}, box, datetime.now(UTC), production=False
        )
        objects["webhook_endpoint"] = made.row.id
        urls = {"success_url": "https://a.example/paid", "cancel_url": "https://a.example/cart"}
        session, _ = app.extensions["apg"].checkout.create(
            tenant_id, NewSession(amount=10000, reference="A-ORDER", **urls)
        )
        objects["checkout_session"] = session.id
    return objects


def _add_ref(app: Flask, transaction_id: str, tenant_id: str, kind: str, value: str) -> None:
    with app.app_context():
        db.session.add(
            ProcessorReference(
                transaction_id=transaction_id,
                tenant_id=tenant_id,
                processor="mpesa",
                kind=kind,
                value=value,
                created_at=datetime.now(UTC),
            )
        )
        db.session.commit()


def _announce(app: Flask, payment_id: str) -> str:
    """An event of A's payment, as its completion wrote it; returns its public id."""
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        event = announcements.announce(payment, "completed", datetime.now(UTC))
        db.session.commit()
        assert event is not None
        return public_id(event)


def leaked(text: str, victim: dict[str, str]) -> list[str]:
    """Tenant A's identifiers (and its receipt and checkout id) found in `text`."""
    receipts = [receipt for receipt in RECEIPTS.values() if receipt]
    secrets = [*victim.values(), *receipts, "AAA1BBB2CC", "AG_TENANT_A_0000001"]
    return [value for value in secrets if value and value in text]


@pytest.fixture
def victim(app: Flask) -> dict[str, str]:
    return make_victim(app)


@pytest.fixture
def intruder(app: Flask) -> dict[str, str]:
    """Tenant B's headers: a tenant with the same kinds of account, so only ownership differs."""
    _, api_key = make_tenant(app, "Tenant B", **INITIATOR)
    return {"Authorization": f"Bearer {api_key}"}


def owner(victim: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {victim['api_key']}"}


def call(
    client: FlaskClient, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> Any:
    return client.open(path, method=method, headers=headers, **kwargs)


def assert_not_found(response: Any, filled: list[str], victim: dict[str, str], where: str) -> None:
    body = response.get_json(silent=True) or {}
    assert response.status_code == 404, f"{where}: {response.status_code} {body}"
    error = dict(body["error"])
    assert (error["type"], error["code"]) == ("invalid_request_error", "resource_missing"), where
    assert error["request_id"] == response.headers["X-Request-ID"], where
    message = error.pop("message")
    for value in filled:  # "No such payment: 'pay_…'" echoes what B sent; nothing more
        message = message.replace(value, "<sent>")
    assert not leaked(json.dumps(error) + message, victim), f"{where}: {body}"


def test_the_matrix_covers_every_merchant_endpoint(app: Flask) -> None:
    rules = merchant_rules(app)
    outside = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule not in rules
    }
    assert not outside, f"/api/v1 rules outside the house Api's blueprints: {outside}"
    missing = []
    for rule in rules:
        unknown = [name for name in rule.arguments if name not in PARAMETERS]
        assert not unknown, (
            f"{rule.rule}: add the path parameter(s) {unknown} to PARAMETERS in"
            " tests/api/test_isolation_matrix.py (which of tenant A's objects fills it)"
        )
        for method in methods_of(rule):
            key = (method, rule.endpoint)
            if rule.arguments:
                if method != "GET" and key not in BODIES:
                    missing.append(f"{method} {rule.rule}: add a valid body to BODIES")
            elif key not in LISTS and key not in REFERENCES and key not in NO_FOREIGN_INPUT:
                missing.append(f"{method} {rule.rule}: add it to LISTS, REFERENCES or NO_FOREIGN")
    assert not missing, "Endpoints the isolation matrix does not cover:\n" + "\n".join(missing)
    known = {(m, r.endpoint) for r in rules for m in methods_of(r)}
    stale = (BODIES.keys() | LISTS | REFERENCES.keys() | NO_FOREIGN_INPUT) - known
    assert not stale, f"The matrix names endpoints that are gone: {sorted(stale)}"


def test_every_object_endpoint_answers_tenant_b_404_for_tenant_a_objects(
    app: Flask, client: FlaskClient, victim: dict[str, str], intruder: dict[str, str]
) -> None:
    tried = 0
    for rule in merchant_rules(app):
        if not rule.arguments:
            continue
        values = {name: victim[PARAMETERS[name]] for name in rule.arguments}
        path = rule.build(values, append_unknown=False)[1]
        for method in methods_of(rule):
            body = BODIES.get((method, rule.endpoint))
            response = call(client, method, path, intruder, json=body)
            assert_not_found(response, list(values.values()), victim, f"{method} {path}")
            if method == "GET":  # the control: the id is right, A itself is answered
                mine = call(client, method, path, owner(victim))
                assert mine.status_code == 200, f"A's own {path}: {mine.get_json()}"
            tried += 1
    with_ids = [r for r in merchant_rules(app) if r.arguments]
    assert tried == sum(len(methods_of(r)) for r in with_ids) >= 12


def test_no_list_shows_tenant_b_any_of_tenant_a_objects(
    app: Flask, client: FlaskClient, victim: dict[str, str], intruder: dict[str, str]
) -> None:
    paths = {(m, r.endpoint): r.rule for r in merchant_rules(app) for m in methods_of(r)}
    assert paths.keys() >= LISTS
    for method, endpoint in sorted(LISTS):
        response = call(client, method, paths[method, endpoint], intruder)
        assert response.status_code == 200, f"{endpoint}: {response.get_json()}"
        found = leaked(response.get_data(as_text=True), victim)
        assert not found, f"{method} {paths[method, endpoint]} shows tenant A's {found}"
        mine = call(client, method, paths[method, endpoint], owner(victim))
        assert leaked(mine.get_data(as_text=True), victim), f"the control: A sees its {endpoint}"


@pytest.mark.parametrize(("method", "endpoint"), sorted(REFERENCES))
def test_tenant_a_ids_in_a_body_or_query_are_answered_as_unknown_ids(
    app: Flask,
    client: FlaskClient,
    victim: dict[str, str],
    intruder: dict[str, str],
    method: str,
    endpoint: str,
) -> None:
    paths = {(m, r.endpoint): r.rule for r in merchant_rules(app) for m in methods_of(r)}
    ref = REFERENCES[method, endpoint]
    answers = []
    for value in (UNKNOWN, victim[ref.kind]):
        sent = {**ref.valid, ref.field: value}
        kwargs = {"json": sent} if ref.location == "json" else {"query_string": sent}
        response = call(client, method, paths[method, endpoint], intruder, **kwargs)
        body = response.get_json()
        assert response.status_code >= 400, f"{method} {endpoint} with {value}: {body}"
        error = dict(body["error"])
        error.pop("request_id")
        message = re.sub(re.escape(value), "<sent>", error.pop("message"))
        assert not leaked(json.dumps(error) + message, victim), f"{endpoint}: {body}"
        answers.append((response.status_code, error, message))
    assert answers[1] == answers[0], f"{method} {endpoint}: A's id is told from an unknown one"
    # The control: the id is right, A itself is not answered as for an unknown id.
    sent = {**ref.valid, ref.field: victim[ref.kind]}
    kwargs = {"json": sent} if ref.location == "json" else {"query_string": sent}
    mine = call(client, method, paths[method, endpoint], owner(victim), **kwargs)
    assert mine.status_code < 400, f"A's own {method} {endpoint}: {mine.get_json()}"
