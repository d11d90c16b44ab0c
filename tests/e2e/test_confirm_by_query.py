"""security.confirm_callbacks_by_query, over real HTTP against the emulator: an STK success
callback completes its payment only once STK Query agrees; a query that says otherwise holds
it for review, one that cannot say leaves it pending (asked again later), never completed."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from apg import create_app
from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction
from apg.tenants.models import Tenant
from apg.webhooks.models import InboundCallback
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant, make_payment, make_tenant
from tests.support.servers import LiveServer, closed_port_url

PHONE = "254700000333"


@pytest.fixture
def confirming(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The gateway as configured with security.confirm_callbacks_by_query: true."""
    processor = app.extensions["apg"].processors.get("mpesa")
    monkeypatch.setattr(processor, "confirm_by_query", True)
    return processor


@pytest.mark.parametrize("configured", [True, False])
def test_the_processor_takes_the_setting_from_the_configuration(
    tmp_path: Path, configured: bool
) -> None:
    database = f"sqlite:///{tmp_path / 'confirm.db'}"
    app = create_app(
        {
            "app.env": "development",  # whatever another test left in the environment
            "app.database_url": database,
            "security.confirm_callbacks_by_query": configured,
        }
    )
    assert app.extensions["apg"].processors.get("mpesa").confirm_by_query is configured
    with app.app_context():
        db.engine.dispose()


def success(checkout_id: str, phone: str = PHONE, receipt: str = "UKN1ABCDEF") -> dict:
    items = [
        {"Name": "Amount", "Value": 100.00},
        {"Name": "MpesaReceiptNumber", "Value": receipt},
        {"Name": "TransactionDate", "Value": 20261123101500},
        {"Name": "PhoneNumber", "Value": int(phone)},
    ]
    callback = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": items},
    }
    return {"Body": {"stkCallback": callback}}


def post(app: Flask, server: LiveServer, tenant_id: str, body: dict) -> None:
    with app.app_context():
        token = db.session.get(Tenant, tenant_id).callback_token
    url = f"{server.url}/webhooks/daraja/{token}/stk"
    assert requests.post(url, json=body, timeout=30).status_code == 200


def pay(merchant: Merchant, control: EmulatorControl, **scenario: Any) -> dict[str, Any]:
    control.scenario(PHONE, **{"result_code": 0, **scenario})
    created = merchant.create_payment(phone_number=PHONE)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def stored(app: Flask, payment_id: str) -> PaymentTransaction:
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        db.session.expunge(txn)
        return txn


def callbacks(app: Flask) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(select(InboundCallback).order_by(InboundCallback.id)).scalars()
        return [(row.outcome, row.error) for row in rows]


def audit(app: Flask, payment_id: str) -> list[tuple[str, dict | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(PaymentEvent)
            .where(PaymentEvent.payment_id == payment_id)
            .order_by(PaymentEvent.id)
        ).scalars()
        return [(row.to_status, row.detail) for row in rows]


def sweep(app: Flask) -> dict[str, int]:
    outcome = app.test_cli_runner().invoke(args=["apg", "sweep-callbacks"])
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.output)  # type: ignore[no-any-return]


def test_a_real_success_completes_once_stk_query_agrees(
    app: Flask, confirming: Any, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = pay(merchant, emulator_control)
    emulator_control.settle(payment["checkout_request_id"])
    shown = merchant.get_payment(payment["id"]).json()
    assert (shown["status"], len(shown["mpesa_receipt_number"])) == ("completed", 10)
    assert emulator_control.stats()["stk_query_requests"] == 1
    assert callbacks(app) == [("applied", None)]
    assert audit(app, payment["id"])[-1] == (
        "completed",
        {"confirmed_by_query": "completed", "query_result_code": "0"},
    )


def test_without_the_setting_a_success_completes_without_asking(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = pay(merchant, emulator_control)
    emulator_control.settle(payment["checkout_request_id"])
    assert merchant.get_payment(payment["id"]).json()["status"] == "completed"
    assert emulator_control.stats()["stk_query_requests"] == 0


def test_a_forged_success_for_a_push_mpesa_cancelled_is_held_for_review(
    app: Flask,
    confirming: Any,
    merchant: Merchant,
    tenant: tuple[str, str],
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
) -> None:
    payment = pay(merchant, emulator_control, result_code=1032, delivery="drop")
    emulator_control.settle(payment["checkout_request_id"])  # cancelled; nothing POSTed
    post(app, gateway_server, tenant[0], success(payment["checkout_request_id"]))
    txn = stored(app, payment["id"])
    assert (txn.status, txn.finalized_at) == ("review", None)  # nothing credited
    assert "the query says it is cancelled (1032" in (txn.status_reason or "")
    assert callbacks(app) == [("review", None)]


def test_a_forged_success_for_a_push_still_open_completes_nothing(
    app: Flask,
    confirming: Any,
    merchant: Merchant,
    tenant: tuple[str, str],
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
) -> None:
    payment = pay(merchant, emulator_control)  # the payer has not answered yet
    post(app, gateway_server, tenant[0], success(payment["checkout_request_id"]))
    assert stored(app, payment["id"]).status == "processing"
    assert callbacks(app) == [("received", "awaiting confirmation by query: still being processed")]

    emulator_control.settle(payment["checkout_request_id"])  # M-Pesa's own callback, later
    txn = stored(app, payment["id"])
    assert txn.status == "completed" and txn.receipt != "UKN1ABCDEF"  # the real receipt


def test_a_held_success_is_applied_by_the_sweep_once_the_query_agrees(
    app: Flask,
    confirming: Any,
    merchant: Merchant,
    tenant: tuple[str, str],
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
) -> None:
    """The callback outran the decision STK Query sees; its own copy was lost."""
    payment = pay(merchant, emulator_control, delivery="drop")
    post(app, gateway_server, tenant[0], success(payment["checkout_request_id"]))
    assert stored(app, payment["id"]).status == "processing"
    emulator_control.settle(payment["checkout_request_id"])  # decided: paid; nothing POSTed
    assert sweep(app)["applied"] == 0  # held this recently: it may still be in a worker's hands
    clock.shift(timedelta(minutes=3))
    assert sweep(app)["applied"] == 1
    txn = stored(app, payment["id"])
    assert (txn.status, txn.receipt) == ("completed", "UKN1ABCDEF")
    assert callbacks(app) == [("applied", None)]
    assert emulator_control.stats()["stk_query_requests"] == 2


def test_a_success_whose_query_cannot_be_asked_stays_pending(
    app: Flask, confirming: Any, gateway_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confirming, "sleep", lambda seconds: None)  # between its retries
    tenant_id = make_tenant(app, "Unreachable", base_url=closed_port_url())[0]
    payment_id = make_payment(app, tenant_id, checkout_request_id="ws_CO_unreachable")
    post(app, gateway_server, tenant_id, success("ws_CO_unreachable", phone="254708374149"))
    assert stored(app, payment_id).status == "processing"
    [(outcome, why)] = callbacks(app)
    assert outcome == "received" and "could not ask" in (why or "")


def test_evidence_that_does_not_match_goes_to_review_without_asking(
    app: Flask,
    confirming: Any,
    merchant: Merchant,
    tenant: tuple[str, str],
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
) -> None:
    payment = pay(merchant, emulator_control)
    post(app, gateway_server, tenant[0], success(payment["checkout_request_id"], "254711111111"))
    assert stored(app, payment["id"]).status == "review"
    assert emulator_control.stats()["stk_query_requests"] == 0


def test_no_database_transaction_is_held_open_while_the_query_is_asked(
    app: Flask,
    confirming: Any,
    merchant: Merchant,
    emulator_control: EmulatorControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer lock shows an open write transaction")
    writable: list[bool] = []
    query = confirming.query

    def query_while_checking(operation: Any) -> Any:
        other = sqlite3.connect(str(db.engine.url.database), timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once while another writer holds on
            other.execute("ROLLBACK")
            writable.append(True)
        except sqlite3.OperationalError:
            writable.append(False)
        finally:
            other.close()
        return query(operation)

    monkeypatch.setattr(confirming, "query", query_while_checking)
    payment = pay(merchant, emulator_control)
    emulator_control.settle(payment["checkout_request_id"])
    assert writable == [True]
    assert stored(app, payment["id"]).status == "completed"
