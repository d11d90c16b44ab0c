"""Fault injection end to end (issue 8, point 5): each fault the emulator can inject, then
`flask apg reconcile`; the gateway's final state is right, nothing is applied twice and no
payment is left pending, processing or unknown. A push whose CheckoutRequestID never came back
cannot be STK-Queried: reconciliation puts it in review (documented in
apg/payments/reconciliation.py), never completes it on a guess.

Run with -s to see the summary table (the last test prints it)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction
from apg.webhooks.models import InboundCallback
from tests.e2e.fault_table import ROWS, FaultRow, render
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant

PHONE = "254700000444"
OTHER_PHONE = "254700000445"
AFTER = timedelta(seconds=91)  # past reconciliation.after_seconds (90)
STK_GIVE_UP = timedelta(seconds=601)  # past stk_give_up_after_seconds (600)
OPEN = frozenset({"pending", "processing", "unknown"})
OAUTH_PATH = "/oauth/v1/generate?grant_type=client_credentials"
CONSUMER = ("apg-emulator-key", "apg-emulator-secret")


# --- helpers ---------------------------------------------------------------------------------


def reconcile(app: Flask) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["apg", "reconcile"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def outcomes(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [row.outcome for row in rows]


def transitions(app: Flask, payment_id: str) -> list[str]:
    """Target statuses of the payment's status changes (enrichments and conflicts move none)."""
    with app.app_context():
        events = db.session.execute(
            select(PaymentEvent)
            .where(
                PaymentEvent.payment_id == payment_id,
                PaymentEvent.kind.in_(["created", "transition"]),
            )
            .order_by(PaymentEvent.id)
        ).scalars()
        return [event.to_status for event in events]


def accepted_pushes(control: EmulatorControl, phone: str = PHONE) -> list[dict[str, Any]]:
    response = requests.get(
        f"{control.base_url}/_emulator/stkpush", params={"phone": phone}, timeout=10
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def unknown_payment_id(response: requests.Response, status: int) -> str:
    """The API's answer to a push whose outcome it could not learn; returns the payment id."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["payment"]["status"]) == ("outcome_unknown", "unknown")
    return str(error["payment"]["id"])


def record(
    app: Flask, control: EmulatorControl, fault: str, phones: tuple[str, ...] = (PHONE,)
) -> FaultRow:
    """Check the invariants every fault must keep, and add the fault's row to the table."""
    with app.app_context():
        payments = db.session.execute(select(PaymentTransaction)).scalars().all()
        statuses = [p.status for p in payments]
        ids = [p.id for p in payments]
        count = db.session.execute(select(func.count()).select_from(PaymentTransaction)).scalar()
    repeated = 0
    for payment_id in ids:
        seen = Counter(transitions(app, payment_id))
        repeated += sum(n - 1 for n in seen.values())
    row = FaultRow(
        fault=fault,
        requests_sent=control.stats()["stk_push_requests"],
        pushes_accepted=sum(len(accepted_pushes(control, phone)) for phone in phones),
        payments_recorded=int(count or 0),
        applied_twice=repeated,
        unresolved=sum(1 for s in statuses if s in OPEN),
        final=",".join(sorted(statuses)),
    )
    ROWS.append(row)
    assert (row.applied_twice, row.unresolved) == (0, 0), row
    return row


def pay(merchant: Merchant, control: EmulatorControl, **scenario: Any) -> requests.Response:
    control.scenario(PHONE, **{"result_code": 0, **scenario})
    return merchant.create_payment(phone_number=PHONE)


# --- answers that say nothing: the outcome is unknown ----------------------------------------


@pytest.mark.parametrize(
    ("fault", "scenario", "status"),
    [
        ("slow (3 s > 1.5 s read timeout)", {"fault": "slow", "answer_delay_seconds": 3}, 504),
        ("html_504", {"fault": "html_504"}, 502),
        ("truncated", {"fault": "truncated"}, 502),
    ],
)
def test_a_push_accepted_behind_an_unreadable_answer_goes_to_review_with_its_callback(
    app: Flask,
    merchant: Merchant,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
    fault: str,
    scenario: dict[str, Any],
    status: int,
) -> None:
    """M-Pesa took the push but the answer never told the gateway its CheckoutRequestID: the
    callback is unmatched, STK Query has nothing to ask with, so reconcile names the callback
    and asks an operator (review) rather than guessing a completion."""
    payment_id = unknown_payment_id(pay(merchant, emulator_control, **scenario), status)
    [push] = accepted_pushes(emulator_control)
    emulator_control.settle(push["checkout_request_id"])
    assert outcomes(app) == ["unmatched"]
    clock.shift(AFTER)
    assert reconcile(app) == {"review": 1}
    assert reconcile(app) == {}
    shown = merchant.get_payment(payment_id).json()
    assert shown["status"] == "review"
    assert "unmatched callback" in shown["status_reason"]
    assert emulator_control.stats()["stk_query_requests"] == 0  # no id to ask with
    row = record(app, emulator_control, fault)
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 1, 1)


def test_an_html_503_push_nothing_ever_reports_goes_to_review_after_the_window(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    """Maintenance: nothing was accepted, but the gateway cannot know that from a 503 page."""
    payment_id = unknown_payment_id(pay(merchant, emulator_control, fault="html_503"), 502)
    assert accepted_pushes(emulator_control) == []
    clock.shift(AFTER)
    assert reconcile(app) == {"waiting": 1}
    clock.shift(STK_GIVE_UP)
    assert reconcile(app) == {"review": 1}
    assert reconcile(app) == {}
    shown = merchant.get_payment(payment_id).json()
    assert shown["status"] == "review"
    assert "CheckoutRequestID was never learnt" in shown["status_reason"]
    row = record(app, emulator_control, "html_503")
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 0, 1)


# --- refusals: nothing was pushed ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"),
    [("spike_arrest", 429), ("quota_violation", 429), ("nonzero_response_code", 424)],
)
def test_a_refused_push_fails_and_reconcile_leaves_it_failed(
    app: Flask,
    merchant: Merchant,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
    fault: str,
    status: int,
) -> None:
    response = pay(merchant, emulator_control, fault=fault)
    assert response.status_code == status, response.text
    payment_id = response.json()["error"]["payment"]["id"]
    clock.shift(AFTER)
    assert reconcile(app) == {}
    assert merchant.get_payment(payment_id).json()["status"] == "failed"
    assert transitions(app, payment_id)[-1] == "failed"
    assert emulator_control.stats()["stk_query_requests"] == 0
    row = record(app, emulator_control, fault)
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 0, 1)


# --- credentials -----------------------------------------------------------------------------


def test_a_token_revoked_early_is_refreshed_once_and_the_next_payment_succeeds(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    first = pay(merchant, emulator_control).json()
    emulator_control.settle(first["checkout_request_id"])
    tokens = emulator_control.stats()["oauth_tokens_issued"]
    minted = requests.get(f"{emulator_control.base_url}{OAUTH_PATH}", auth=CONSUMER, timeout=10)
    assert minted.status_code == 200  # revokes the gateway's token (revoke_previous_tokens)

    emulator_control.scenario(OTHER_PHONE, result_code=0)
    second = merchant.create_payment(phone_number=OTHER_PHONE)
    assert second.status_code == 201, second.text
    emulator_control.settle(second.json()["checkout_request_id"])
    assert emulator_control.stats()["oauth_tokens_issued"] == tokens + 2  # ours, one refresh
    clock.shift(AFTER)
    assert reconcile(app) == {}
    for payment in (first, second.json()):
        assert merchant.get_payment(payment["id"]).json()["status"] == "completed"
    row = record(app, emulator_control, "token revoked early", (PHONE, OTHER_PHONE))
    # the refused push (404.001.03) counts as a request; it was re-sent once with the new token
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (3, 2, 2)


# --- callbacks: dropped, duplicated, late, early ---------------------------------------------


def test_a_dropped_callback_is_completed_by_stk_query_and_the_late_copy_only_enriches(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payment = pay(merchant, emulator_control, delivery="drop").json()
    emulator_control.settle(payment["checkout_request_id"])
    clock.shift(AFTER)
    assert reconcile(app) == {"applied": 1}
    assert reconcile(app) == {}
    assert merchant.get_payment(payment["id"]).json()["status"] == "completed"
    emulator_control.redeliver(payment["checkout_request_id"])
    emulator_control.redeliver(payment["checkout_request_id"])
    assert outcomes(app) == ["enriched", "duplicate"]
    final = merchant.get_payment(payment["id"]).json()
    assert (final["status"], len(final["mpesa_receipt_number"])) == ("completed", 10)
    assert emulator_control.stats()["stk_query_requests"] == 1
    row = record(app, emulator_control, "callback dropped")
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 1, 1)


def test_a_duplicated_callback_makes_one_transition(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    payment = pay(merchant, emulator_control, delivery="duplicate").json()
    emulator_control.settle(payment["checkout_request_id"])
    assert outcomes(app) == ["applied", "duplicate"]
    clock.shift(AFTER)
    assert reconcile(app) == {}
    assert merchant.get_payment(payment["id"]).json()["status"] == "completed"
    assert transitions(app, payment["id"]).count("completed") == 1
    row = record(app, emulator_control, "callback duplicated")
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 1, 1)


def test_a_success_after_the_stk_timeout_completes_the_payment_once(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    """1037 first, then the real result 0: late money is real money."""
    payment = pay(merchant, emulator_control, result_code=1037, then={"result_code": 0}).json()
    emulator_control.settle(payment["checkout_request_id"])
    clock.shift(AFTER)
    assert reconcile(app) == {}
    final = merchant.get_payment(payment["id"]).json()
    assert (final["status"], final["result_code"]) == ("completed", "0")
    assert outcomes(app) == ["applied", "applied"]
    assert transitions(app, payment["id"]) == ["pending", "processing", "timeout", "completed"]
    row = record(app, emulator_control, "1037 then 0")
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 1, 1)


def test_a_callback_ahead_of_the_push_answer_is_applied_once_the_refs_commit(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    created = pay(merchant, emulator_control, delivery="early")
    assert created.status_code == 201, created.text
    assert outcomes(app) == ["applied"]  # it waited unmatched, then the commit applied it
    clock.shift(AFTER)
    assert reconcile(app) == {}
    final = merchant.get_payment(created.json()["id"]).json()
    assert (final["status"], len(final["mpesa_receipt_number"])) == ("completed", 10)
    row = record(app, emulator_control, "callback early")
    assert (row.requests_sent, row.pushes_accepted, row.payments_recorded) == (1, 1, 1)


# --- the table -------------------------------------------------------------------------------


def test_no_fault_applied_anything_twice_or_left_anything_unresolved() -> None:
    """Runs last (file order); prints issue 8's table with -s."""
    if not ROWS:
        pytest.skip("no fault test ran in this session")
    print("\n" + render(ROWS))
    assert all(row.applied_twice == 0 and row.unresolved == 0 for row in ROWS)
