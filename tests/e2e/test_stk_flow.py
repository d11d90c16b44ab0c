"""STK Push end to end: merchant -> gateway -> emulator -> callback over HTTP -> gateway."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import func, select

from apg.extensions import db
from apg.payments.models import PaymentEvent
from apg.webhooks.models import InboundCallback
from daraja_emulator import EmulatorServer, load_config
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import LiveServer


@pytest.mark.parametrize(
    ("phone", "status", "code"),
    [
        ("0708374149", "completed", "0"),
        ("0708374150", "failed", "1"),
        ("0708374151", "cancelled", "1032"),
        ("0708374152", "timeout", "1037"),
        ("0708374153", "failed", "2001"),
        ("0712345678", "completed", "0"),  # any other number succeeds
    ],
)
def test_every_emulator_scenario_reaches_its_final_status(
    merchant: Merchant, emulator_control: EmulatorControl, phone: str, status: str, code: str
) -> None:
    created = merchant.create_payment(phone_number=phone)
    assert created.status_code == 201, created.text
    payment = created.json()
    assert payment["status"] == "processing"
    assert payment["checkout_request_id"].startswith("ws_CO_")

    delivery = emulator_control.settle(payment["checkout_request_id"])
    assert delivery["status_code"] == 200
    assert json.loads(delivery["response_body"]) == {"ResultCode": 0, "ResultDesc": "Accepted"}

    final = merchant.get_payment(payment["id"]).json()
    assert (final["status"], final["result_code"]) == (status, code)
    assert final["finalized_at"] is not None
    if status == "completed":
        assert len(final["mpesa_receipt_number"]) == 10
        assert final["transaction_date"] is not None
    else:
        assert final["mpesa_receipt_number"] is None
        assert final["result_desc"]


def test_replayed_callback_is_acknowledged_and_changes_nothing(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    emulator_control.settle(payment["checkout_request_id"])
    first = merchant.get_payment(payment["id"]).json()

    replay = emulator_control.redeliver(payment["checkout_request_id"])
    assert replay["status_code"] == 200
    assert json.loads(replay["response_body"])["ResultCode"] == 0
    assert merchant.get_payment(payment["id"]).json() == first

    with app.app_context():
        outcomes = (
            db.session.execute(select(InboundCallback.outcome).order_by(InboundCallback.id))
            .scalars()
            .all()
        )
        events = (
            db.session.execute(
                select(PaymentEvent.to_status)
                .where(PaymentEvent.payment_id == payment["id"])
                .order_by(PaymentEvent.id)
            )
            .scalars()
            .all()
        )
    assert outcomes == ["applied", "duplicate"]
    assert events == ["pending", "processing", "completed"]


def test_callback_is_stored_raw_exactly_as_sent(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    delivery = emulator_control.settle(payment["checkout_request_id"])
    with app.app_context():
        stored = db.session.execute(select(InboundCallback)).scalar_one()
    assert stored.raw_body == delivery["body"].encode()
    assert b'"Value":100.00' in stored.raw_body.replace(b" ", b"")
    assert stored.source_ip == "127.0.0.1"
    assert (stored.payment_id, stored.outcome) == (payment["id"], "applied")


def test_callback_arrives_on_its_own_after_the_configured_delay(
    app: Flask, gateway_server: LiveServer
) -> None:
    """Real timing: an emulator with a short delay sends the callback without being asked."""
    config = load_config({"callback_delay_seconds": 0.2})
    with EmulatorServer(config) as fast:
        _, key = make_tenant(app, "Fast Ltd", base_url=fast.url)
        merchant = Merchant(gateway_server.url, key)
        payment = merchant.create_payment().json()
        delivery = fast.wait_for_delivery(payment["checkout_request_id"], timeout=10)
    assert delivery is not None and delivery["status_code"] == 200
    assert merchant.get_payment(payment["id"]).json()["status"] == "completed"


def test_refresh_applies_an_stk_query_answer_when_the_callback_never_came(
    app: Flask, gateway_server: LiveServer
) -> None:
    config = load_config({"callback_delay_seconds": 0, "auto_deliver": False})
    with EmulatorServer(config) as lossy:
        _, key = make_tenant(app, "Lossy Ltd", base_url=lossy.url)
        merchant = Merchant(gateway_server.url, key)
        payment = merchant.create_payment(phone_number="0708374151").json()
        assert merchant.get_payment(payment["id"]).json()["status"] == "processing"
        refreshed = merchant.get_payment(payment["id"], refresh="true").json()
    assert (refreshed["status"], refreshed["result_code"]) == ("cancelled", "1032")
    with app.app_context():
        source = db.session.execute(
            select(PaymentEvent.source).where(PaymentEvent.to_status == "cancelled")
        ).scalar_one()
    assert source == "query"


def test_refresh_while_the_customer_is_still_deciding_keeps_processing(
    merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    refreshed = merchant.get_payment(payment["id"], refresh="true")
    assert refreshed.status_code == 200
    assert refreshed.json()["status"] == "processing"
    assert emulator_control.push(payment["checkout_request_id"])["decided"] is False


def test_each_payment_is_one_row_and_one_push(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    ids = {merchant.create_payment(phone_number=f"07123456{n:02d}").json()["id"] for n in range(3)}
    assert len(ids) == 3
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(PaymentEvent)).scalar_one()
    assert count == 6  # pending + processing for each
