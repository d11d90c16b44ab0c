"""Forged Results over real HTTP (B2C, B2B, reversals, Transaction Status as reconciliation
asks it): the right ids, but another amount, payee, payer, transaction or a receipt that is
none. Each holds its operation for review and credits nothing; the same Result naming what
was asked still settles it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from apg import onboarding
from tests.support.clock import ShiftableClock
from tests.support.cross_checks import assert_held, post, result, stored
from tests.support.factories import EmulatorControl, Merchant, make_account, make_tenant
from tests.support.servers import LiveServer

INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
AFTER = timedelta(seconds=91)  # past reconciliation.after_seconds


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
