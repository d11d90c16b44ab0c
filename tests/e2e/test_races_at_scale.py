"""The issue's numbers, with real threads over real HTTP (CI runs them on PostgreSQL too):
50 requests with one Idempotency-Key push once; 20 copies of one callback move it once."""

from __future__ import annotations

import json
from collections import Counter

import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import OutboxEvent, PaymentEvent
from apg.webhooks.models import InboundCallback
from tests.e2e.test_callbacks import callback_url, stk_body
from tests.e2e.test_races import assert_claimed_once
from tests.support.factories import EmulatorControl, Merchant, make_payment
from tests.support.servers import LiveServer, together

REQUESTS = 50
COPIES = 20


def test_fifty_requests_with_one_idempotency_key_push_once(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
) -> None:
    def post(_: int) -> tuple[int, str]:
        merchant = Merchant(gateway_server.url, tenant[1])
        with merchant.session:  # closed here, not by the garbage collector (ResourceWarning)
            response = merchant.create_payment(idempotency_key="fifty-at-once")
        return response.status_code, response.text

    answers = together(REQUESTS, post)
    assert_claimed_once(app, emulator_control, answers)  # one payment, one push; 201 or 409
    # Consistent: every 201 is the same payment, and a retry now replays it.
    merchant = Merchant(gateway_server.url, tenant[1])
    with merchant.session:
        again = merchant.create_payment(idempotency_key="fifty-at-once")
    created = {json.loads(body)["id"] for status, body in answers if status == 201}
    assert (again.headers["Idempotent-Replayed"], {again.json()["id"]}) == ("true", created)


def test_twenty_copies_of_one_callback_move_the_payment_once(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_twenty")
    url, body = callback_url(app, gateway_server, tenant[0]), json.dumps(stk_body("ws_CO_twenty"))
    codes = together(COPIES, lambda _: requests.post(url, data=body, timeout=60).status_code)
    assert codes == [200] * COPIES
    with app.app_context():
        outcomes = db.session.execute(select(InboundCallback.outcome)).scalars()
        assert Counter(outcomes) == {"applied": 1, "duplicate": COPIES - 1}
        moves = db.session.execute(
            select(PaymentEvent.to_status).where(
                PaymentEvent.payment_id == payment_id, PaymentEvent.kind == "transition"
            )
        ).scalars()
        assert list(moves) == ["completed"]
        announced = db.session.execute(
            select(OutboxEvent.type).where(OutboxEvent.payment_id == payment_id)
        ).scalars()
        assert list(announced) == ["payment.completed"]
