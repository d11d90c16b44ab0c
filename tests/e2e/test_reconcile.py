"""Reconciliation over real HTTP: the emulator drops or withholds callbacks, `flask apg
reconcile` asks M-Pesa (STK Query, Transaction Status) and settles what it answers; late
callbacks agree (nothing changes) or disagree (a conflict); undecided money goes to review."""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from apg import onboarding
from apg.cli.reconcile import reconciler
from apg.extensions import db
from apg.payments.models import PaymentEvent
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant, make_account, make_tenant
from tests.support.servers import LiveServer

PHONE = "254700000222"
INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
AFTER = timedelta(seconds=91)  # past reconciliation.after_seconds (90)
STK_GIVE_UP = timedelta(seconds=601)  # past stk_give_up_after_seconds (600)
GIVE_UP = timedelta(days=1, seconds=1)  # past give_up_after_seconds (86400)


def reconcile(app: Flask) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["apg", "reconcile"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def outcomes(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [row.outcome for row in rows]


def sources(app: Flask, payment_id: str) -> list[tuple[str, str]]:
    with app.app_context():
        events = db.session.execute(
            select(PaymentEvent).where(PaymentEvent.payment_id == payment_id)
        ).scalars()
        return [(e.to_status, e.source) for e in events]


def post_stk_callback(app: Flask, server: LiveServer, tenant_id: str, body: dict) -> None:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    url = f"{server.url}/webhooks/daraja/{token}/stk"
    assert requests.post(url, json=body, timeout=10).status_code == 200


def success_body(checkout_id: str) -> dict[str, Any]:
    items = [
        {"Name": "Amount", "Value": 100.00},
        {"Name": "MpesaReceiptNumber", "Value": "UKN1ABCDEF"},
        {"Name": "TransactionDate", "Value": 20261123101500},
        {"Name": "PhoneNumber", "Value": int(PHONE)},
    ]
    callback = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": items},
    }
    return {"Body": {"stkCallback": callback}}


def pay(merchant: Merchant, control: EmulatorControl, **scenario: Any) -> dict[str, Any]:
    control.scenario(PHONE, **{"result_code": 0, **scenario})
    return merchant.create_payment(phone_number=PHONE).json()  # type: ignore[no-any-return]


# --- STK Push --------------------------------------------------------------------------------


def test_a_dropped_callback_is_settled_by_one_stk_query_and_the_late_copy_changes_nothing(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payment = pay(merchant, emulator_control, delivery="drop")
    emulator_control.settle(payment["checkout_request_id"])  # decided; nothing POSTed
    assert reconcile(app) == {}  # too young to ask about
    clock.shift(AFTER)
    assert reconcile(app) == {"applied": 1}
    assert reconcile(app) == {}
    shown = merchant.get_payment(payment["id"]).json()
    assert (shown["status"], shown["result_code"]) == ("completed", "0")
    assert emulator_control.stats()["stk_query_requests"] == 1
    assert sources(app, payment["id"])[-1] == ("completed", "reconcile")

    emulator_control.redeliver(payment["checkout_request_id"])  # the callback, late
    emulator_control.redeliver(payment["checkout_request_id"])  # and again
    assert outcomes(app) == ["enriched", "duplicate"]  # the receipt filled in, once
    late = merchant.get_payment(payment["id"]).json()
    assert (late["status"], len(late["mpesa_receipt_number"])) == ("completed", 10)


def test_a_late_callback_that_disagrees_is_a_conflict_and_the_status_stays(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    merchant: Merchant,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
) -> None:
    payment = pay(merchant, emulator_control, result_code=1032, delivery="drop")
    emulator_control.settle(payment["checkout_request_id"])
    clock.shift(AFTER)
    assert reconcile(app) == {"applied": 1}
    assert merchant.get_payment(payment["id"]).json()["status"] == "cancelled"

    post_stk_callback(app, gateway_server, tenant[0], success_body(payment["checkout_request_id"]))
    assert outcomes(app) == ["conflict"]
    shown = merchant.get_payment(payment["id"]).json()
    assert (shown["status"], shown["conflicts"]) == ("cancelled", 1)
    stats = requests.get(f"{gateway_server.url}/stats", timeout=10).json()
    assert stats["conflicts"] == 1


def test_a_push_still_being_processed_waits_then_goes_to_review_never_failed(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payment = pay(merchant, emulator_control)  # undecided: the emulator decides in an hour
    clock.shift(AFTER)
    assert reconcile(app) == {"waiting": 1}
    assert reconcile(app) == {}  # backed off: not asked again at once
    clock.shift(STK_GIVE_UP - AFTER)
    assert reconcile(app) == {"review": 1}
    shown = merchant.get_payment(payment["id"]).json()
    assert shown["status"] == "review"
    assert "STK Query: still being processed" in shown["status_reason"]
    assert emulator_control.stats()["stk_query_requests"] == 2
    assert reconcile(app) == {}


def test_an_unknown_push_with_a_matching_unmatched_callback_goes_to_review(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    """The push was accepted but its answer lost: its callback arrives for a CheckoutRequestID
    nobody knows; reconciliation finds it by phone, amount and time, and asks an operator."""
    emulator_control.scenario(PHONE, result_code=0, fault="html_504")
    created = merchant.create_payment(phone_number=PHONE)
    assert created.status_code == 502
    payment_id = created.json()["error"]["payment"]["id"]
    [push] = requests.get(
        f"{emulator_control.base_url}/_emulator/stkpush", params={"phone": PHONE}, timeout=10
    ).json()
    emulator_control.settle(push["checkout_request_id"])
    assert outcomes(app) == ["unmatched"]
    clock.shift(AFTER)
    assert reconcile(app) == {"review": 1}
    shown = merchant.get_payment(payment_id).json()
    assert shown["status"] == "review"
    assert "unmatched callback" in shown["status_reason"]
    assert emulator_control.stats()["stk_query_requests"] == 0  # no id to ask with


def test_an_unknown_push_nothing_ever_reported_goes_to_review_after_the_window(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    emulator_control.scenario(PHONE, result_code=0, fault="html_504", delivery="drop")
    payment_id = merchant.create_payment(phone_number=PHONE).json()["error"]["payment"]["id"]
    clock.shift(AFTER)
    assert reconcile(app) == {"waiting": 1}
    clock.shift(STK_GIVE_UP)
    assert reconcile(app) == {"review": 1}
    shown = merchant.get_payment(payment_id).json()
    assert shown["status"] == "review"
    assert "CheckoutRequestID was never learnt" in shown["status_reason"]


# --- B2C, reversals, inquiries: Transaction Status -------------------------------------------


class Operator(Merchant):
    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def get(self, path: str) -> dict[str, Any]:
        return self.session.get(f"{self.base_url}{path}", timeout=30).json()  # type: ignore[no-any-return]

    def status_queries(self) -> list[dict[str, Any]]:
        return self.get("/api/v1/transaction-status-queries")["data"]  # type: ignore[no-any-return]


@pytest.fixture
def operator(app: Flask, gateway_server: LiveServer) -> Operator:
    """Paybill 174379 with an initiator, plus B2C shortcode 600000."""
    tenant_id, api_key = make_tenant(app, "Reconciled Ltd", **INITIATOR)
    with app.app_context():
        account = make_account(kind="b2c", shortcode="600000", passkey=None, **INITIATOR)
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, account)
    return Operator(gateway_server.url, api_key)


def test_a_payout_whose_result_was_dropped_is_completed_by_transaction_status(
    app: Flask, operator: Operator, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    emulator_control.scenario("254712345671", result_code=0, delivery="drop")
    payout = operator.post("/api/v1/payouts", {"amount": 50000, "phone_number": "0712345671"})
    emulator_control.settle_result(payout["conversation_id"])  # paid; the Result never came
    clock.shift(AFTER)
    assert reconcile(app) == {"asked": 1}
    [query] = operator.status_queries()
    assert query["original_conversation_id"] == payout["originator_conversation_id"]
    # The query's Result settles the payout at once (Payments' StatusAnswerListener)…
    assert emulator_control.settle_result(query["conversation_id"])["status_code"] == 200
    clock.shift(AFTER)
    assert reconcile(app) == {}  # …so the next look finds nothing left to do
    done = operator.get(f"/api/v1/payouts/{payout['id']}")
    found = operator.get(f"/api/v1/transaction-status-queries/{query['id']}")["transaction"]
    assert (done["status"], done["paid_amount"]) == ("completed", 50000)
    assert done["mpesa_receipt_number"] == found["receipt_no"]
    assert emulator_control.stats()["transaction_status_requests"] == 1

    redelivered = requests.post(
        f"{emulator_control.base_url}/_emulator/results/{payout['conversation_id']}/redeliver",
        timeout=30,
    )
    assert redelivered.status_code == 200
    assert outcomes(app)[-1] == "duplicate"  # the real Result, late: it agrees
    assert operator.get(f"/api/v1/payouts/{payout['id']}") == done


def test_a_payout_mpesa_cannot_find_is_asked_again_then_reviewed_never_failed(
    app: Flask, operator: Operator, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payout = operator.post("/api/v1/payouts", {"amount": 10000, "phone_number": "0712345672"})
    for asked in (1, 2):
        clock.shift(AFTER * asked)  # 90 s, then the backed-off 180 s
        assert reconcile(app) == {"asked": 1}
        newest = operator.status_queries()[0]
        emulator_control.settle_result(newest["conversation_id"])  # not processed yet: 2032
        assert (
            operator.get(f"/api/v1/transaction-status-queries/{newest['id']}")["result_code"]
            == "2032"
        )
    clock.shift(GIVE_UP)
    assert reconcile(app) == {"review": 1}
    shown = operator.get(f"/api/v1/payouts/{payout['id']}")
    assert shown["status"] == "review"
    assert "2032" in shown["status_reason"]


def test_a_reversal_whose_result_was_dropped_reverses_the_payment_by_transaction_status(
    app: Flask, operator: Operator, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payment = operator.create_payment(phone_number="0712345679").json()
    emulator_control.settle(payment["checkout_request_id"])
    emulator_control.scenario("174379", result_code=0, delivery="drop")  # ReceiverParty
    reversal = operator.post(f"/api/v1/payments/{payment['id']}/reversals", {"reason": "Refund"})
    emulator_control.settle_result(reversal["conversation_id"])
    requests.delete(f"{emulator_control.base_url}/_emulator/scenarios/174379", timeout=10)
    clock.shift(AFTER)
    assert reconcile(app) == {"asked": 1}
    emulator_control.settle_result(operator.status_queries()[0]["conversation_id"])
    assert operator.get(f"/api/v1/reversals/{reversal['id']}")["status"] == "completed"
    assert operator.get_payment(payment["id"]).json()["status"] == "reversed"


def test_a_balance_inquiry_nobody_answered_times_out(
    app: Flask, operator: Operator, clock: ShiftableClock
) -> None:
    inquiry = operator.post("/api/v1/balance-inquiries", {})
    clock.shift(AFTER)
    assert reconcile(app) == {"expired": 1}
    shown = operator.get(f"/api/v1/balance-inquiries/{inquiry['id']}")
    assert (shown["status"], shown["status_reason"]) == (
        "timeout",
        "no Result within 90s: ask again",
    )


# --- two reconcilers at once -----------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("APG_TEST_DATABASE_URL", "").startswith("postgres"),
    reason="row locks (FOR UPDATE SKIP LOCKED) need PostgreSQL",
)
def test_two_reconcilers_at_once_ask_once_per_payment(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payments = []
    for _ in range(6):  # one at a time: M-Pesa holds one open prompt per phone
        payments.append(pay(merchant, emulator_control, delivery="drop"))
        emulator_control.settle(payments[-1]["checkout_request_id"])
    clock.shift(AFTER)
    start, counts = threading.Barrier(2), []

    def run() -> None:
        with app.app_context():
            job = reconciler()
            start.wait(timeout=10)
            counts.append(job.run_once())
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(c.get("applied", 0) for c in counts) == 6
    assert emulator_control.stats()["stk_query_requests"] == 6
    for payment in payments:
        assert sources(app, payment["id"]).count(("completed", "reconcile")) == 1
