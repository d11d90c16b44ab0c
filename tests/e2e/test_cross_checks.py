"""Forged callbacks over real HTTP: the right ids, but another amount, payer, payee, account or
a receipt that is none. Each holds its operation for review and credits nothing; the same
report naming what was asked still settles it."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from apg import onboarding
from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.clock import ShiftableClock
from tests.support.factories import (
    EmulatorControl,
    Merchant,
    make_account,
    make_payment,
    make_tenant,
)
from tests.support.servers import LiveServer

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
AFTER = timedelta(seconds=91)  # past reconciliation.after_seconds


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())  # type: ignore[no-any-return]


def post(app: Flask, server: LiveServer, tenant_id: str, kind: str, body: dict) -> None:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    url = f"{server.url}/webhooks/daraja/{token}/{kind}"
    response = requests.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text  # acknowledged: never sent again


def stored(app: Flask, payment_id: str) -> PaymentTransaction:
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        db.session.expunge(txn)
        return txn


def verdicts(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [row.outcome for row in rows]


def assert_held(app: Flask, payment_id: str, evidence: str) -> PaymentTransaction:
    txn = stored(app, payment_id)
    assert (txn.status, txn.finalized_at) == ("review", None)
    assert evidence in (txn.status_reason or ""), txn.status_reason
    return txn


def result(name: str, ids: dict[str, Any], **values: Any) -> dict[str, Any]:
    """A Result sample for the operation `ids` names, its parameters set to `values` (by Key;
    TransactionID is the envelope's)."""
    body = copy.deepcopy(sample(name))
    envelope = body["Result"]
    envelope["ConversationID"] = ids["conversation_id"]
    envelope["OriginatorConversationID"] = ids["originator_conversation_id"]
    envelope["TransactionID"] = values.pop("TransactionID", envelope["TransactionID"])
    for item in envelope["ResultParameters"]["ResultParameter"]:
        item["Value"] = values.pop(item["Key"], item.get("Value"))
    for item in _reference_items(envelope):
        item["Value"] = values.pop(item["Key"], item.get("Value"))
    assert not values, f"not in the sample: {values}"
    return body


def _reference_items(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    items = (envelope.get("ReferenceData") or {}).get("ReferenceItem") or []
    return items if isinstance(items, list) else [items]


# --- STK Push ----------------------------------------------------------------------------------


def stk_success(checkout_id: str, **items: Any) -> dict[str, Any]:
    values = {
        "Amount": 100.00,
        "MpesaReceiptNumber": "UKN1ABCDEF",
        "TransactionDate": 20261123101500,
        "PhoneNumber": 254708374149,  # make_payment's phone
        **items,
    }
    callback = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [{"Name": k, "Value": v} for k, v in values.items()]},
    }
    return {"Body": {"stkCallback": callback}}


@pytest.mark.parametrize(
    ("items", "evidence"),
    [
        ({"Amount": 50.00}, "amount 5000 does not match"),
        ({"PhoneNumber": 254711111111}, "PhoneNumber 254711111111 is not 254708374149"),
        ({"PhoneNumber": "2547******48"}, "PhoneNumber 2547******48"),
        ({"MpesaReceiptNumber": "ukn1abcdef"}, "not 10 upper-case letters and digits"),
        ({"MpesaReceiptNumber": "UKN1"}, "not 10 upper-case letters and digits"),
        ({"MpesaReceiptNumber": "UKN0000000"}, "placeholder"),
    ],
    ids=["amount", "phone", "masked-phone", "lower-case-receipt", "short-receipt", "placeholder"],
)
def test_a_forged_stk_callback_is_held_for_review(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    items: dict[str, Any],
    evidence: str,
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_forged")
    post(app, gateway_server, tenant[0], "stk", stk_success("ws_CO_forged", **items))
    assert_held(app, payment_id, evidence)
    assert verdicts(app) == ["review"]


@pytest.mark.parametrize("phone", [254708374149, "2547******49", "0708374149"])
def test_an_stk_callback_naming_the_payers_phone_as_shown_completes(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str], phone: Any
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_right")
    post(app, gateway_server, tenant[0], "stk", stk_success("ws_CO_right", PhoneNumber=phone))
    assert (stored(app, payment_id).status, verdicts(app)) == ("completed", ["applied"])


# --- B2C, B2B, reversals: Results ------------------------------------------------------------


class Operator(Merchant):
    """A merchant that also pays out, pays businesses and reverses."""

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str) -> dict[str, Any]:
        return self.session.get(f"{self.base_url}{path}", timeout=30).json()  # type: ignore[no-any-return]


@pytest.fixture
def operator_tenant(app: Flask) -> tuple[str, str]:
    """Paybill 174379 with an initiator, plus B2C shortcode 600000."""
    tenant_id, api_key = make_tenant(app, "Operator Ltd", **INITIATOR)
    with app.app_context():
        account = make_account(kind="b2c", shortcode="600000", passkey=None, **INITIATOR)
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, account)
    return tenant_id, api_key


@pytest.fixture
def operator(gateway_server: LiveServer, operator_tenant: tuple[str, str]) -> Operator:
    return Operator(gateway_server.url, operator_tenant[1])


def b2c_result(payout: dict[str, Any], **values: Any) -> dict[str, Any]:
    right = {
        "TransactionAmount": 500,
        "TransactionReceipt": "SG632NMUAB",
        "TransactionID": "SG632NMUAB",
        "ReceiverPartyPublicName": "254712345678 - JANE DOE",
    }
    return result("b2c_result_success_daraja-docs-2024.json", payout, **{**right, **values})


@pytest.mark.parametrize(
    ("values", "evidence"),
    [
        ({}, None),
        ({"TransactionAmount": 400}, "amount 40000 does not match"),
        ({"ReceiverPartyPublicName": "254712345670 - JOHN"}, "the payee 254712345670"),
        ({"ReceiverPartyPublicName": "2547******70 - JOHN"}, "the payee 2547******70"),
        (
            {"TransactionReceipt": "sg632nmuab", "TransactionID": "sg632nmuab"},
            "not 10 upper-case",
        ),
        ({"TransactionReceipt": "SG632NMUAC"}, "is not the TransactionID"),
    ],
    ids=["as-asked", "amount", "payee", "masked-payee", "receipt", "two-receipts"],
)
def test_a_forged_payout_result_is_held_for_review(
    app: Flask,
    operator_tenant: tuple[str, str],
    operator: Operator,
    gateway_server: LiveServer,
    values: dict[str, Any],
    evidence: str | None,
) -> None:
    payout = operator.post("/api/v1/payouts", {"amount": 50000, "phone_number": "0712345678"})
    post(app, gateway_server, operator_tenant[0], "b2c-result", b2c_result(payout, **values))
    if evidence is None:
        assert stored(app, payout["id"]).status == "completed"
    else:
        assert_held(app, payout["id"], evidence)


def b2b_result(payment: dict[str, Any], **values: Any) -> dict[str, Any]:
    right = {
        "Amount": "190.00",
        "TransactionID": "QKA81LK5CY",
        "ReceiverPartyPublicName": "600000 - Biller Company",
        "BillReferenceNumber": "INV-001",
    }
    return result("b2b_result_success_daraja-docs.json", payment, **{**right, **values})


@pytest.mark.parametrize(
    ("values", "evidence"),
    [
        ({}, None),
        ({"Amount": "180.00"}, "amount 18000 does not match"),
        ({"ReceiverPartyPublicName": "600001 - Other Biller"}, "the payee 600001 is not 600000"),
        ({"BillReferenceNumber": "INV-002"}, "BillReferenceNumber 'INV-002'"),
        ({"TransactionID": "QKA0000000"}, "placeholder"),
    ],
    ids=["as-asked", "amount", "payee", "bill-reference", "placeholder-receipt"],
)
def test_a_forged_b2b_result_is_held_for_review(
    app: Flask,
    operator_tenant: tuple[str, str],
    operator: Operator,
    gateway_server: LiveServer,
    values: dict[str, Any],
    evidence: str | None,
) -> None:
    asked = {
        "amount": 19000,
        "receiver_shortcode": "600000",
        "command_id": "BusinessPayBill",
        "account_reference": "INV-001",
    }
    payment = operator.post("/api/v1/b2b-payments", asked)
    post(app, gateway_server, operator_tenant[0], "b2b-result", b2b_result(payment, **values))
    if evidence is None:
        assert stored(app, payment["id"]).status == "completed"
    else:
        assert_held(app, payment["id"], evidence)


@pytest.mark.parametrize(
    ("values", "evidence"),
    [
        ({}, None),
        ({"Amount": 1.00}, "amount 100 does not match"),
        ({"OriginalTransactionID": "SKC82PACB8"}, "OriginalTransactionID 'SKC82PACB8'"),
        ({"DebitPartyPublicName": "600992 - Someone Else"}, "the payer 600992 is not 174379"),
        ({"TransactionID": "SKE52PAWR"}, "not 10 upper-case"),
    ],
    ids=["as-asked", "amount", "another-receipt", "another-shortcode", "receipt"],
)
def test_a_forged_reversal_result_is_held_for_review_and_reverses_nothing(
    app: Flask,
    operator_tenant: tuple[str, str],
    operator: Operator,
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
    values: dict[str, Any],
    evidence: str | None,
) -> None:
    payment = operator.create_payment(phone_number="0712345679").json()
    emulator_control.settle(payment["checkout_request_id"])
    receipt = operator.get_payment(payment["id"]).json()["mpesa_receipt_number"]
    reversal = operator.post(f"/api/v1/payments/{payment['id']}/reversals", {"reason": "Refund"})
    right = {
        "Amount": 100.00,
        "TransactionID": "SKE52PAWR9",
        "OriginalTransactionID": receipt,
        "DebitPartyPublicName": "174379 - Operator Ltd",
    }
    body = result("reversal_result_success_daraja-docs.json", reversal, **{**right, **values})
    post(app, gateway_server, operator_tenant[0], "reversal-result", body)
    if evidence is None:
        assert stored(app, payment["id"]).status == "reversed"
    else:
        assert_held(app, reversal["id"], evidence)
        assert stored(app, payment["id"]).status == "completed"  # not reversed


# --- Transaction Status, as reconciliation asks it --------------------------------------------


def reconcile(app: Flask) -> dict[str, int]:
    outcome = app.test_cli_runner().invoke(args=["apg", "reconcile"])
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.stdout)  # type: ignore[no-any-return]


def status_result(query: dict[str, Any], payout: dict[str, Any], **found: Any) -> dict:
    """What a Transaction Status query about `payout` found, by its own ids."""
    values = {
        "DebitPartyName": "600000 - Operator Ltd",
        "CreditPartyName": "254712345671 - John Doe",
        "OriginatorConversationID": payout["originator_conversation_id"],
        "InitiatedTime": "20261123101500",
        "TransactionStatus": "Completed",
        "FinalisedTime": "20261123101500",
        "Amount": "500",
        "ReceiptNo": "UKR1ABCDEF",
        **found,
    }
    parameters = [{"Key": key, "Value": value} for key, value in values.items()]
    envelope = {
        "ResultType": 0,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": query["originator_conversation_id"],
        "ConversationID": query["conversation_id"],
        "TransactionID": "UKR0000000",
        "ResultParameters": {"ResultParameter": parameters},
    }
    return {"Result": envelope}


@pytest.mark.parametrize(
    ("found", "held", "evidence"),
    [
        ({}, None, None),
        ({"Amount": "400"}, "payout", "amount 40000 does not match"),
        ({"CreditPartyName": "254712345670 - Jane"}, "payout", "the payee 254712345670"),
        ({"OriginatorConversationID": "pay_someone_else"}, "query", "OriginatorConversationID"),
        ({"ReceiptNo": "ukr1abcdef"}, "query", "not 10 upper-case"),
        ({"DebitPartyName": "600001 - Other Ltd"}, "query", "neither party"),
    ],
    ids=["as-asked", "amount", "payee", "another-transaction", "receipt", "not-ours"],
)
def test_a_forged_status_answer_settles_no_payout(
    app: Flask,
    operator_tenant: tuple[str, str],
    operator: Operator,
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
    found: dict[str, Any],
    held: str | None,
    evidence: str | None,
) -> None:
    emulator_control.scenario("254712345671", result_code=0, delivery="drop")
    payout = operator.post("/api/v1/payouts", {"amount": 50000, "phone_number": "0712345671"})
    clock.shift(AFTER)
    assert reconcile(app) == {"asked": 1}
    [query] = operator.get("/api/v1/transaction-status-queries")["data"]
    body = status_result(query, payout, **found)
    post(app, gateway_server, operator_tenant[0], "status-result", body)
    if held is None:
        assert stored(app, payout["id"]).status == "completed"
    elif held == "payout":
        assert_held(app, payout["id"], evidence or "")
    else:
        assert_held(app, query["id"], evidence or "")
        assert stored(app, payout["id"]).status == "processing"  # asked again later


# --- C2B confirmations --------------------------------------------------------------------------

V2_MASKED = sample("c2b_confirmation_v2_masked_daraja-docs.json")  # KES 5.00 to 600966


@pytest.fixture
def shop(app: Flask) -> str:
    """A tenant whose paybill is the docs sample's 600966, and a second paybill, 600967."""
    tenant_id = make_tenant(app, "Shop", shortcode="600966")[0]
    with app.app_context():
        account = make_account(shortcode="600967")
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, account)
    return tenant_id


def c2b_payments(app: Flask) -> list[PaymentTransaction]:
    query = select(PaymentTransaction).where(PaymentTransaction.transaction_type == "c2b_payment")
    with app.app_context():
        return list(db.session.execute(query).scalars())


@pytest.mark.parametrize("trans_id", ["rkl51zdr4f", "RKL51", "RKL0000000"])
def test_a_confirmation_whose_trans_id_is_no_receipt_records_nothing(
    app: Flask, gateway_server: LiveServer, shop: str, trans_id: str
) -> None:
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED | {"TransID": trans_id})
    assert (c2b_payments(app), verdicts(app)) == ([], ["review"])


@pytest.mark.parametrize(
    ("copy", "evidence"),
    [
        ({"TransAmount": "6.00"}, "amount 600 does not match the 500 recorded"),
        ({"BusinessShortCode": "600967"}, "paid to 600967"),
    ],
    ids=["amount", "another-account"],
)
def test_a_c2b_copy_of_an_stk_payment_that_disagrees_holds_it_for_review(
    app: Flask, gateway_server: LiveServer, shop: str, copy: dict[str, str], evidence: str
) -> None:
    stk = make_payment(app, shop, status="completed", receipt="RKL51ZDR4F", amount=500)
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED | copy)
    assert_held(app, stk, evidence)
    assert (c2b_payments(app), verdicts(app)) == ([], ["review"])


def test_a_c2b_confirmation_again_with_another_amount_is_a_conflict_not_a_change(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED)
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED | {"TransAmount": "50.00"})
    [payment] = c2b_payments(app)
    assert (payment.status, payment.amount, payment.conflicts) == ("completed", 500, 1)
    assert verdicts(app) == ["created", "conflict"]
