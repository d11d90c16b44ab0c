"""`flask apg replay-callback ID`: re-process a stored raw callback (e.g. after a parser fix),
idempotently."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask import Flask

from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction
from apg.payments.ports import CallbackRejected
from apg.webhooks.models import InboundCallback
from tests.e2e.test_callbacks import callback_url, stk_body, stored_callbacks
from tests.support.factories import make_payment
from tests.support.servers import LiveServer


def replay(app: Flask, callback_id: int) -> tuple[int, dict[str, Any] | str]:
    result = app.test_cli_runner().invoke(args=["apg", "replay-callback", str(callback_id)])
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, result.output


def payment_state(app: Flask, payment_id: str) -> tuple[str, int]:
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        events = db.session.query(PaymentEvent).filter_by(payment_id=payment_id).count()
        return txn.status, events


def test_a_callback_refused_by_a_bug_is_applied_when_replayed_after_the_fix(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_replay_1")
    processor = app.extensions["apg"].processors.get("mpesa")
    fixed = processor.parse_callback

    def buggy(kind: str, raw: bytes) -> Any:
        raise CallbackRejected("a parser bug")

    monkeypatch.setattr(processor, "parse_callback", buggy)
    url = callback_url(app, gateway_server, tenant[0])
    assert requests.post(url, json=stk_body("ws_CO_replay_1"), timeout=10).status_code == 400
    [row] = stored_callbacks(app)
    assert row.outcome == "malformed"

    monkeypatch.setattr(processor, "parse_callback", fixed)  # the fix is deployed
    code, output = replay(app, row.id)
    assert (code, output) == (0, {"id": row.id, "was": "malformed", "verdict": "applied"})
    assert payment_state(app, payment_id)[0] == "completed"


def test_replaying_an_applied_callback_changes_nothing(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_replay_2")
    url = callback_url(app, gateway_server, tenant[0])
    assert requests.post(url, json=stk_body("ws_CO_replay_2"), timeout=10).ok
    before = payment_state(app, payment_id)
    [row] = stored_callbacks(app)
    for _ in range(2):
        code, output = replay(app, row.id)
        assert code == 0 and output["verdict"] == "duplicate"  # type: ignore[index]
    assert payment_state(app, payment_id) == before and before[0] == "completed"
    with app.app_context():
        kept = db.session.get(InboundCallback, row.id)
        assert "replayed" in (kept.error or "") and "applied" in (kept.error or "")


def test_what_cannot_be_replayed_says_why(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str]
) -> None:
    assert replay(app, 999_999)[0] == 2
    unknown = gateway_server.url + "/webhooks/daraja/" + "ab" * 20 + "/stk"
    assert requests.post(unknown, json=stk_body("ws_CO_x"), timeout=10).status_code == 404
    [row] = stored_callbacks(app)
    code, output = replay(app, row.id)
    assert code == 2 and "no tenant" in str(output)
