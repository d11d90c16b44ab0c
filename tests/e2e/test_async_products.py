"""Daraja's asynchronous products end to end, over real HTTP against the emulator: payouts,
B2B, balance, transaction status and reversals, with their Results as callbacks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests
from flask import Flask

from apg import onboarding
from tests.support.factories import EmulatorControl, Merchant, make_account, make_tenant
from tests.support.servers import LiveServer

INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
B2C_SHORTCODE = "600000"


class Operator(Merchant):
    """A merchant that also pays out, pays businesses, asks and reverses."""

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.session.post(f"{self.base_url}{path}", json=body, headers=headers, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", timeout=30)


@pytest.fixture
def operator(app: Flask, gateway_server: LiveServer) -> Operator:
    """Paybill 174379 with an initiator, plus B2C shortcode 600000."""
    tenant_id, api_key = make_tenant(app, "Operator Ltd", **INITIATOR)
    with app.app_context():
        onboarding.add_merchant_account(
            app.extensions["apg"],
            tenant_id,
            make_account(kind="b2c", shortcode=B2C_SHORTCODE, passkey=None, **INITIATOR),
        )
    return Operator(gateway_server.url, api_key)


def utility(control: EmulatorControl, shortcode: str) -> Decimal:
    return Decimal(control.books(shortcode)["Utility Account"])


def settled(control: EmulatorControl, operator: Operator, path: str, created: dict) -> dict:
    """Deliver the operation's Result now; the operation as the API then shows it."""
    delivery = control.settle_result(created["conversation_id"])
    assert delivery["status_code"] == 200, delivery
    return operator.get(f"{path}/{created['id']}").json()


def test_a_payout_moves_the_emulators_balance_and_a_balance_inquiry_shows_it(
    operator: Operator, emulator_control: EmulatorControl
) -> None:
    before = utility(emulator_control, B2C_SHORTCODE)
    created = operator.post(
        "/api/v1/payouts",
        {"amount": 50000, "phone_number": "0712345678", "remarks": "Salary Nov", "reference": "S1"},
        key="payout-1",
    )
    assert created.status_code == 201, created.text
    payout = created.json()
    assert (payout["status"], payout["originator_conversation_id"]) == ("processing", payout["id"])
    assert payout["conversation_id"].startswith("AG_")

    done = settled(emulator_control, operator, "/api/v1/payouts", payout)
    assert (done["status"], done["result_code"], done["paid_amount"]) == ("completed", "0", 50000)
    assert len(done["mpesa_receipt_number"]) == 10 and done["receiver_public_name"]
    after = utility(emulator_control, B2C_SHORTCODE)
    assert before - after >= Decimal("500.00")  # the payout, plus M-Pesa's fee

    inquiry = operator.post("/api/v1/balance-inquiries", {"account_id": payout["account_id"]})
    assert inquiry.status_code == 201, inquiry.text
    shown = settled(emulator_control, operator, "/api/v1/balance-inquiries", inquiry.json())
    [account] = [a for a in shown["accounts"] if a["name"] == "Utility Account"]
    assert account["available"] == int(after * 100)


def test_a_retried_payout_with_the_same_key_pays_once(
    operator: Operator, emulator_control: EmulatorControl
) -> None:
    body = {"amount": 10000, "phone_number": "0712345678", "remarks": "Refund 7"}
    first = operator.post("/api/v1/payouts", body, key="payout-2")
    again = operator.post("/api/v1/payouts", body, key="payout-2")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(operator.get("/api/v1/payouts").json()["data"]) == 1


def test_a_wrong_security_credential_fails_with_darajas_error(
    app: Flask, gateway_server: LiveServer, emulator_control: EmulatorControl
) -> None:
    wrong = {**INITIATOR, "initiator_password": "not-the-password"}
    api_key = make_tenant(app, "Wrong Initiator", **wrong)[1]
    operator = Operator(gateway_server.url, api_key)
    inquiry = operator.post("/api/v1/balance-inquiries", {})
    assert inquiry.status_code == 201  # Daraja accepts it, and says no in the Result
    shown = settled(emulator_control, operator, "/api/v1/balance-inquiries", inquiry.json())
    assert (shown["status"], shown["result_code"]) == ("failed", "2001")
    assert "initiator" in shown["result_desc"].lower()


def test_a_reversal_turns_a_completed_payment_reversed(
    operator: Operator, emulator_control: EmulatorControl
) -> None:
    payment = operator.create_payment(phone_number="0712345679").json()
    emulator_control.settle(payment["checkout_request_id"])
    assert operator.get_payment(payment["id"]).json()["status"] == "completed"

    reversal = operator.post(
        f"/api/v1/payments/{payment['id']}/reversals", {"reason": "Customer refund"}
    )
    assert reversal.status_code == 201, reversal.text
    assert operator.get_payment(payment["id"]).json()["status"] == "completed"  # not yet
    done = settled(emulator_control, operator, "/api/v1/reversals", reversal.json())
    assert (done["status"], done["result_code"]) == ("completed", "0")
    reversed_payment = operator.get_payment(payment["id"]).json()
    assert reversed_payment["status"] == "reversed"
    events = operator.get(f"/api/v1/payments/{payment['id']}/events").json()["data"]
    assert events[-1]["to_status"] == "reversed" and events[-1]["source"] == "reversal"


def test_a_b2b_payment_and_a_status_query_of_its_receipt(
    operator: Operator, emulator_control: EmulatorControl
) -> None:
    created = operator.post(
        "/api/v1/b2b-payments",
        {
            "amount": 20000,
            "receiver_shortcode": "600001",
            "command_id": "BusinessPayBill",
            "account_reference": "INV-77",
            "remarks": "Supplier",
        },
    )
    assert created.status_code == 201, created.text
    done = settled(emulator_control, operator, "/api/v1/b2b-payments", created.json())
    assert (done["status"], done["paid_amount"]) == ("completed", 20000)

    query = operator.post(
        "/api/v1/transaction-status-queries", {"transaction_id": done["mpesa_receipt_number"]}
    )
    assert query.status_code == 201, query.text
    shown = settled(emulator_control, operator, "/api/v1/transaction-status-queries", query.json())
    assert shown["status"] == "completed"
    assert shown["transaction"]["receipt_no"] == done["mpesa_receipt_number"]
    assert shown["transaction"]["amount"] == 20000


def test_a_queue_timeout_moves_a_payout_to_timeout(
    operator: Operator, emulator_control: EmulatorControl
) -> None:
    emulator_control.scenario("254712345670", result_code=0, queue_timeout=True)
    created = operator.post("/api/v1/payouts", {"amount": 10000, "phone_number": "0712345670"})
    done = settled(emulator_control, operator, "/api/v1/payouts", created.json())
    assert done["status"] == "timeout"


def test_an_account_set_to_b2c_v1_pays_through_v1(
    app: Flask, gateway_server: LiveServer, emulator_control: EmulatorControl
) -> None:
    """v1 sends no OriginatorConversationID: Daraja's own one (from the ack) finds the Result."""
    tenant_id, api_key = make_tenant(app, "Legacy Payouts", **INITIATOR)
    with app.app_context():
        account = make_account(
            kind="b2c", shortcode="600002", passkey=None, b2c_version="v1", **INITIATOR
        )
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, account)
    operator = Operator(gateway_server.url, api_key)
    created = operator.post("/api/v1/payouts", {"amount": 10000, "phone_number": "0712345678"})
    assert created.status_code == 201, created.text
    payout = created.json()
    assert payout["originator_conversation_id"] not in (None, payout["id"])
    done = settled(emulator_control, operator, "/api/v1/payouts", payout)
    assert done["status"] == "completed"


def test_a_redelivered_result_changes_nothing(
    operator: Operator, emulator_control: EmulatorControl
) -> None:
    created = operator.post("/api/v1/payouts", {"amount": 10000, "phone_number": "0712345678"})
    done = settled(emulator_control, operator, "/api/v1/payouts", created.json())
    events = operator.get(f"/api/v1/payouts/{done['id']}/events")
    again = requests.post(
        f"{emulator_control.base_url}/_emulator/results/{done['conversation_id']}/redeliver",
        timeout=30,
    )
    assert again.status_code == 200, again.text
    assert operator.get(f"/api/v1/payouts/{done['id']}").json() == done
    assert operator.get(f"/api/v1/payouts/{done['id']}/events").json() == events.json()
    assert [e["to_status"] for e in events.json()["data"]] == ["pending", "processing", "completed"]
