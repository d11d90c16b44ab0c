"""C2B callbacks over real HTTP: Daraja's official bodies POSTed to the live gateway's
c2b-confirmation and c2b-validation URLs become one completed payment, or a verdict."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from apg.extensions import db
from apg.payments import lifecycle
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import OutboxEvent, PaymentEvent, PaymentTransaction
from apg.processors.mpesa.products import c2b
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.factories import make_payment, make_tenant
from tests.support.servers import LiveServer, together

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
SUCCESS = {"ResultCode": 0, "ResultDesc": "Success"}
ACCEPTED = {"ResultCode": "0", "ResultDesc": "Accepted"}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


V2_MASKED = sample("c2b_confirmation_v2_masked_daraja-docs.json")  # paid to 600966
# What a v1 URL gets for the same payment: the MSISDN as SHA-256 hex of 2547… (API.md §0.1).
V1_HASHED = V2_MASKED | {"MSISDN": hashlib.sha256(b"254705912645").hexdigest()}
VALIDATION = sample("c2b_validation_ghostscypher-2017.json")  # 1000 cents to 600134, ref "xyz"


class Daraja:
    """Posts as Daraja does: to one tenant's URL, a JSON body, no authentication."""

    def __init__(self, app: Flask, server: LiveServer, tenant_id: str) -> None:
        with app.app_context():
            token = db.session.get(Tenant, tenant_id).callback_token
        self.base = f"{server.url}/webhooks/daraja/{token}"

    def confirm(self, body: dict[str, Any]) -> requests.Response:
        return self.post("c2b-confirmation", body)

    def validate(self, body: dict[str, Any]) -> requests.Response:
        return self.post("c2b-validation", body)

    def post(self, kind: str, body: dict[str, Any]) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        return requests.post(
            f"{self.base}/{kind}", data=json.dumps(body), headers=headers, timeout=30
        )


def c2b_payments(app: Flask, tenant_id: str | None = None) -> list[PaymentTransaction]:
    query = select(PaymentTransaction).where(PaymentTransaction.transaction_type == "c2b_payment")
    if tenant_id:
        query = query.where(PaymentTransaction.tenant_id == tenant_id)
    with app.app_context():
        return list(db.session.execute(query).scalars())


def outcomes(app: Flask) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [(row.outcome, row.error) for row in rows]


def count(app: Flask, model: Any, payment_id: str) -> int:
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(model).where(model.payment_id == payment_id)
        ).scalar_one()


@pytest.fixture
def shop(app: Flask) -> str:
    """A tenant whose paybill is the docs samples' 600966."""
    return make_tenant(app, "Shop", shortcode="600966")[0]


@pytest.mark.parametrize(("body", "msisdn_format"), [(V2_MASKED, "masked"), (V1_HASHED, "hashed")])
def test_a_confirmation_becomes_one_completed_c2b_payment(
    app: Flask, gateway_server: LiveServer, shop: str, body: dict[str, Any], msisdn_format: str
) -> None:
    response = Daraja(app, gateway_server, shop).confirm(body)
    assert (response.status_code, response.json()) == (200, SUCCESS)
    [payment] = c2b_payments(app)
    assert (payment.tenant_id, payment.status, payment.amount) == (shop, "completed", 500)
    assert (payment.receipt, payment.reference) == ("RKL51ZDR4F", "Sample Transaction")
    assert payment.phone_number is None and payment.finalized_at is not None
    assert payment.processor_data["result"]["msisdn"] == body["MSISDN"]
    assert payment.processor_data["result"]["msisdn_format"] == msisdn_format
    assert payment.ref("trans_id") == "RKL51ZDR4F"
    with app.app_context():
        [created] = db.session.execute(select(PaymentEvent)).scalars()
        [announced] = db.session.execute(select(OutboxEvent)).scalars()
    assert (created.kind, created.from_status, created.to_status) == ("created", None, "completed")
    assert (announced.type, announced.payload["object"]) == ("c2b_payment.received", "c2b_payment")
    assert outcomes(app) == [("created", None)]


def test_replays_change_nothing(app: Flask, gateway_server: LiveServer, shop: str) -> None:
    daraja = Daraja(app, gateway_server, shop)
    answers = [daraja.confirm(V2_MASKED).json() for _ in range(3)]
    assert answers == [SUCCESS] * 3
    [payment] = c2b_payments(app)
    assert [o for o, _ in outcomes(app)] == ["created", "duplicate", "duplicate"]
    assert (count(app, PaymentEvent, payment.id), count(app, OutboxEvent, payment.id)) == (1, 1)


def test_concurrent_copies_record_the_payment_once(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    daraja = Daraja(app, gateway_server, shop)
    responses = together(6, lambda _: daraja.confirm(V2_MASKED))
    assert [(r.status_code, r.json()) for r in responses] == [(200, SUCCESS)] * 6
    [payment] = c2b_payments(app)
    assert sorted(o for o, _ in outcomes(app)) == ["created"] + ["duplicate"] * 5
    assert (count(app, PaymentEvent, payment.id), count(app, OutboxEvent, payment.id)) == (1, 1)


def test_a_copy_that_loses_the_race_to_insert_is_a_duplicate_and_leaves_nothing(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    """The unique TransID ref decides a race that both copies' lookups missed (on PostgreSQL a
    concurrent copy ends here; SQLite serialises writers before the lookup)."""
    Daraja(app, gateway_server, shop).confirm(V2_MASKED)
    [payment] = c2b_payments(app)
    event = c2b.parse_confirmation(json.dumps(V2_MASKED).encode())
    assert event.incoming is not None
    unseen = dataclasses.replace(event.incoming, receipt="RKL51ZDR4G")  # no receipt match either
    with app.app_context():
        apg = app.extensions["apg"]
        processor = apg.processors.get("mpesa")
        verdict = apg.payments.events.record_incoming(shop, processor, event.refs, unseen)
        db.session.commit()  # the caller's transaction survives the lost insert
    assert verdict == ("duplicate", payment.id)
    assert [p.id for p in c2b_payments(app)] == [payment.id]
    assert (count(app, PaymentEvent, payment.id), count(app, OutboxEvent, payment.id)) == (1, 1)


def test_a_malformed_confirmation_is_kept_and_refused(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    response = Daraja(app, gateway_server, shop).confirm(V2_MASKED | {"TransAmount": "five"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_callback"
    assert c2b_payments(app) == []
    [(outcome, error)] = outcomes(app)
    assert outcome == "malformed" and "TransAmount" in (error or "")


def test_a_confirmation_for_a_shortcode_the_tenant_does_not_own_touches_no_tenant(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    other = make_tenant(app, "Other", shortcode="600134")[0]
    theirs = sample("c2b_confirmation_ghostscypher-2017.json")  # paid to 600134
    response = Daraja(app, gateway_server, shop).confirm(theirs)
    assert (response.status_code, response.json()) == (200, SUCCESS)  # kept, acknowledged
    assert c2b_payments(app) == []
    assert outcomes(app) == [("unmatched", None)]
    Daraja(app, gateway_server, other).confirm(theirs)  # Daraja's own delivery, to its owner
    [payment] = c2b_payments(app)
    assert (payment.tenant_id, payment.phone_number) == (other, "254708374149")


@pytest.mark.parametrize("paid_to", ["600100", "600200"])
def test_a_till_is_found_by_its_till_or_its_store_number(
    app: Flask, gateway_server: LiveServer, paid_to: str
) -> None:
    tenant_id = make_tenant(app, "Till", kind="till", shortcode="600100", store_number="600200")[0]
    body = V2_MASKED | {"BusinessShortCode": paid_to, "BillRefNumber": ""}
    assert Daraja(app, gateway_server, tenant_id).confirm(body).json() == SUCCESS
    [payment] = c2b_payments(app)
    assert (payment.tenant_id, payment.reference) == (tenant_id, "")
    assert payment.processor_data["result"]["business_short_code"] == paid_to


def test_another_tenants_receipt_on_this_tenants_url_changes_nothing(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    other = make_tenant(app, "Other", shortcode="600134")[0]
    Daraja(app, gateway_server, other).confirm(sample("c2b_confirmation_ghostscypher-2017.json"))
    [theirs] = c2b_payments(app)
    forged = V2_MASKED | {"TransID": theirs.receipt}  # to the shop's own shortcode
    response = Daraja(app, gateway_server, shop).confirm(forged)
    assert (response.status_code, response.json()) == (200, SUCCESS)
    assert [p.id for p in c2b_payments(app)] == [theirs.id]
    assert c2b_payments(app, shop) == []
    assert [o for o, _ in outcomes(app)] == ["created", "duplicate"]
    assert count(app, PaymentEvent, theirs.id) == 1


def test_an_stk_payment_confirmed_to_the_c2b_url_too_is_not_counted_twice(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    stk = make_payment(app, shop, status="completed", receipt="RKL51ZDR4F", amount=500)
    daraja = Daraja(app, gateway_server, shop)
    assert daraja.confirm(V2_MASKED).json() == SUCCESS
    assert daraja.confirm(V2_MASKED).json() == SUCCESS  # found again by the ref it was given
    assert c2b_payments(app) == []
    assert [o for o, _ in outcomes(app)] == ["duplicate", "duplicate"]
    with app.app_context():
        assert db.session.get(PaymentTransaction, stk).ref("trans_id") == "RKL51ZDR4F"
        rows = db.session.execute(select(InboundCallback.payment_id)).scalars().all()
    assert rows == [stk, stk]


@pytest.fixture
def till_600134(app: Flask, client: Any) -> tuple[str, dict[str, str]]:
    """The 2017 validation sample's shortcode, with rules set through the API."""
    tenant_id, key = make_tenant(app, "Validating", shortcode="600134")
    headers = {"Authorization": f"Bearer {key}"}
    rules = {"account_number_pattern": r"[a-z]{3}", "min_amount": 500, "max_amount": 100000}
    response = client.put("/api/v1/c2b/validation-rules", json=rules, headers=headers)
    assert response.status_code == 200, response.json
    return tenant_id, headers


@pytest.mark.parametrize(
    ("change", "answer", "recorded"),
    [
        ({}, ACCEPTED, ("accepted", None)),
        (
            {"BillRefNumber": "INV-1"},
            {"ResultCode": "C2B00012", "ResultDesc": "Rejected"},
            ("rejected", "invalid_account_number"),
        ),
        (
            {"TransAmount": "4.00"},
            {"ResultCode": "C2B00013", "ResultDesc": "Rejected"},
            ("rejected", "invalid_amount"),
        ),
        (
            {"TransAmount": "1000.01"},
            {"ResultCode": "C2B00013", "ResultDesc": "Rejected"},
            ("rejected", "invalid_amount"),
        ),
        (
            {"BusinessShortCode": "600999"},
            {"ResultCode": "C2B00015", "ResultDesc": "Rejected"},
            ("rejected", "invalid_shortcode"),
        ),
    ],
)
def test_validation_answers_by_the_accounts_rules(
    app: Flask,
    gateway_server: LiveServer,
    till_600134: tuple[str, dict[str, str]],
    change: dict[str, Any],
    answer: dict[str, str],
    recorded: tuple[str, str | None],
) -> None:
    response = Daraja(app, gateway_server, till_600134[0]).validate(VALIDATION | change)
    assert (response.status_code, response.json()) == (200, answer)
    assert outcomes(app) == [recorded]  # the verdict and its reason, on the raw row
    assert c2b_payments(app) == []  # a validation records no payment


def test_without_rules_every_payment_is_accepted(app: Flask, gateway_server: LiveServer) -> None:
    tenant_id = make_tenant(app, "Open", shortcode="600134")[0]
    response = Daraja(app, gateway_server, tenant_id).validate(VALIDATION | {"BillRefNumber": ""})
    assert response.json() == ACCEPTED


def test_a_rejected_payment_still_confirmed_is_recorded(
    app: Flask, gateway_server: LiveServer, till_600134: tuple[str, dict[str, str]]
) -> None:
    """Rules decide validation only: money M-Pesa confirms has moved and is kept."""
    daraja = Daraja(app, gateway_server, till_600134[0])
    body = sample("c2b_confirmation_ghostscypher-2017.json") | {"BillRefNumber": "INV-1"}
    assert daraja.confirm(body).json() == SUCCESS
    assert len(c2b_payments(app)) == 1


def test_a_c2b_payment_is_created_completed_and_only_a_reversal_moves_it() -> None:
    assert lifecycle.created_as("c2b_payment") == PaymentStatus.COMPLETED
    moves = {
        to for to in PaymentStatus if lifecycle.allows("c2b_payment", PaymentStatus.COMPLETED, to)
    }
    assert moves == {PaymentStatus.REVERSED}
