"""The gateway against every way the emulator can make Daraja behave: faults, callback shapes,
out-of-order, duplicate and dropped callbacks. All over real HTTP, driven through the API."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.webhooks.models import InboundCallback
from tests.support.factories import EmulatorControl, Merchant

PHONE = "254700000111"


def outcomes(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [row.outcome for row in rows]


def pay(merchant: Merchant, emulator: EmulatorControl, **scenario: Any) -> requests.Response:
    emulator.scenario(PHONE, **{"result_code": 0, **scenario})
    return merchant.create_payment(phone_number=PHONE)


def test_a_callback_that_races_ahead_of_the_push_commit_is_applied(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    created = pay(merchant, emulator_control, delivery="early")
    assert created.status_code == 201, created.text
    payment = merchant.get_payment(created.json()["id"]).json()
    assert (payment["status"], len(payment["mpesa_receipt_number"])) == ("completed", 10)
    assert outcomes(app) == ["applied"]  # it arrived unmatched, then the commit applied it


@pytest.mark.parametrize(
    ("fault", "code", "wait"),
    [("spike_arrest", "500.003.02", 5), ("quota_violation", "500.003.03", 30)],
)
def test_throttling_fails_the_payment_and_says_when_to_retry(
    merchant: Merchant, emulator_control: EmulatorControl, fault: str, code: str, wait: int
) -> None:
    """M-Pesa's rate limit refused the push itself: nothing happened, nothing is re-sent, and
    the merchant hears 429 with Retry-After rather than a decline."""
    response = pay(merchant, emulator_control, fault=fault)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(wait)
    error = response.json()["error"]
    assert (error["type"], error["code"], error["retry_after_seconds"]) == (
        "upstream_error",
        "rate_limited",
        wait,
    )
    assert (error["daraja_code"], error["payment"]["status"]) == (code, "failed")
    assert error["payment"]["status_reason"] == "refused: the processor's rate limit"
    assert "new Idempotency-Key" in error["message"]
    assert emulator_control.stats()["stk_push_requests"] == 1


def test_200_with_a_nonzero_response_code_is_a_refusal(
    merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    response = pay(merchant, emulator_control, fault="nonzero_response_code")
    assert response.status_code == 424
    payment = response.json()["error"]["payment"]
    assert (payment["status"], payment["result_code"]) == ("failed", "1")
    assert payment["checkout_request_id"] is None


@pytest.mark.parametrize("fault", ["html_503", "html_504", "truncated"])
def test_an_answer_that_says_nothing_leaves_the_payment_unknown(
    merchant: Merchant, emulator_control: EmulatorControl, fault: str
) -> None:
    response = pay(merchant, emulator_control, fault=fault)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "outcome_unknown"
    payment = merchant.get_payment(response.json()["error"]["payment"]["id"]).json()
    assert payment["status"] == "unknown"


@pytest.mark.parametrize(
    ("scenario", "status", "reason"),
    [
        ({"amount_format": "integer"}, "completed", None),
        ({"balance_item": True}, "completed", None),
        ({"paid_amount": 50}, "review", "amount 5000 does not match the 10000 requested"),
        ({"omit_items": ["MpesaReceiptNumber"]}, "review", "receipt missing"),
        ({"omit_items": ["Amount"]}, "review", "amount missing"),
    ],
)
def test_every_callback_shape_is_checked_before_it_completes_a_payment(
    merchant: Merchant,
    emulator_control: EmulatorControl,
    scenario: dict[str, Any],
    status: str,
    reason: str | None,
) -> None:
    payment = pay(merchant, emulator_control, **scenario).json()
    emulator_control.settle(payment["checkout_request_id"])
    final = merchant.get_payment(payment["id"]).json()
    assert (final["status"], final["status_reason"]) == (status, reason)


def test_a_timeout_notice_then_the_real_result_completes_the_payment(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    emulator_control.scenario(PHONE, result_code=1037, then={"result_code": 0})
    payment = merchant.create_payment(phone_number=PHONE).json()
    emulator_control.settle(payment["checkout_request_id"])
    final = merchant.get_payment(payment["id"]).json()
    assert (final["status"], final["result_code"]) == ("completed", "0")
    assert outcomes(app) == ["applied", "applied"]
    events = merchant.session.get(
        f"{merchant.base_url}/api/v1/payments/{payment['id']}/events", timeout=10
    ).json()["data"]
    assert [e["to_status"] for e in events] == ["pending", "processing", "timeout", "completed"]


def test_a_duplicated_callback_is_applied_once(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = pay(merchant, emulator_control, delivery="duplicate").json()
    emulator_control.settle(payment["checkout_request_id"])
    assert outcomes(app) == ["applied", "duplicate"]


def test_a_dropped_callback_is_recovered_by_query_and_its_receipt_by_a_late_copy(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = pay(merchant, emulator_control, delivery="drop").json()
    emulator_control.settle(payment["checkout_request_id"])
    assert outcomes(app) == []
    refreshed = merchant.get_payment(payment["id"], refresh="true").json()
    assert (refreshed["status"], refreshed["mpesa_receipt_number"]) == ("completed", None)
    emulator_control.redeliver(payment["checkout_request_id"])  # the callback turns up late
    final = merchant.get_payment(payment["id"]).json()
    assert (final["status"], final["paid_amount"]) == ("completed", 10000)
    assert len(final["mpesa_receipt_number"]) == 10
    assert outcomes(app) == ["enriched"]
