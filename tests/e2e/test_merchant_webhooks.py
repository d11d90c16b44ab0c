"""Merchant webhooks end to end: a payment settled by the emulator is POSTed, signed, to a
receiver on loopback; failures are retried on the schedule; redelivery; racing workers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from apg.extensions import db
from apg.notifications import delivery
from apg.notifications.models import WebhookAttempt, WebhookDelivery, WorkerHeartbeat
from apg.notifications.worker import policy_of
from apg.webhooks import verify_signature
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant
from tests.support.servers import Receiver, together


def subscribe(client: FlaskClient, headers: dict[str, str], url: str) -> dict[str, Any]:
    body = {"url": url, "event_types": ["payment.completed"]}
    made = client.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()  # type: ignore[no-any-return]


def deliver(app: Flask) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["apg", "deliver-webhooks"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def completed_payment(merchant: Merchant, emulator_control: EmulatorControl) -> str:
    payment = merchant.create_payment().json()
    emulator_control.settle(payment["checkout_request_id"])
    assert merchant.get_payment(payment["id"]).json()["status"] == "completed"
    return str(payment["id"])


def test_a_completed_payment_is_delivered_once_signed(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    merchant: Merchant,
    emulator_control: EmulatorControl,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    endpoint = subscribe(client, api_headers, url)
    payment_id = completed_payment(merchant, emulator_control)
    assert deliver(app) == {"fanned_out": 1, "delivered": 1}
    assert deliver(app) == {"fanned_out": 0}  # nothing twice
    [(headers, body)] = hook.received
    assert verify_signature(body, headers["Apg-Signature"], endpoint["secret"])
    assert not verify_signature(body, headers["Apg-Signature"], "whsec_wrong")
    event = json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert headers["Apg-Event-Id"] == event["id"]
    assert (event["type"], event["data"]["id"], event["data"]["status"]) == (
        "payment.completed",
        payment_id,
        "completed",
    )
    shown = client.get(f"/api/v1/events/{event['id']}", headers=api_headers).get_json()
    assert shown == event  # the body is the event as the API shows it
    with app.app_context():
        assert db.session.get(WorkerHeartbeat, "deliver-webhooks") is not None
    metrics = client.get("/metrics").get_data(as_text=True)  # ops open: no token in tests
    assert 'apg_webhook_deliveries{status="delivered"} 1.0' in metrics


def test_a_failing_receiver_is_retried_on_the_schedule_then_failed(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    merchant: Merchant,
    emulator_control: EmulatorControl,
    receiver: tuple[Receiver, str],
    clock: ShiftableClock,
) -> None:
    hook, url = receiver
    hook.status = 503
    subscribe(client, api_headers, url)
    completed_payment(merchant, emulator_control)
    assert deliver(app) == {"fanned_out": 1, "pending": 1}
    schedule = policy_of(app.extensions["apg"].settings.webhooks).schedule
    for wait in schedule:
        clock.shift(timedelta(seconds=wait) * 0.85)  # not yet due: jitter is at most a tenth
        assert deliver(app) == {"fanned_out": 0}
        clock.shift(timedelta(seconds=wait) * 0.15)
        assert sum(deliver(app).values()) == 1
    assert len(hook.received) == len(schedule) + 1
    with app.app_context():
        [row] = db.session.execute(select(WebhookDelivery)).scalars()
        assert (row.status, row.attempts, row.last_status_code) == ("failed", 9, 503)
        attempts = db.session.execute(select(WebhookAttempt)).scalars().all()
        assert [(a.status_code, a.response) for a in attempts] == [(503, "try later")] * 9
    clock.shift(timedelta(days=30))
    assert deliver(app) == {"fanned_out": 0}  # failed is final


def test_an_event_can_be_redelivered(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    merchant: Merchant,
    emulator_control: EmulatorControl,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    endpoint = subscribe(client, api_headers, url)
    completed_payment(merchant, emulator_control)
    deliver(app)
    [event] = client.get("/api/v1/events", headers=api_headers).get_json()["data"]
    again = client.post(f"/api/v1/events/{event['id']}/redeliver", headers=api_headers)
    assert again.status_code == 202
    assert again.get_json()["webhook_endpoints"] == [endpoint["id"]]
    assert deliver(app) == {"fanned_out": 0, "delivered": 1}
    assert [json.loads(body)["id"] for _, body in hook.received] == [event["id"]] * 2


def test_two_claimers_never_hold_the_same_delivery(
    app: Flask,
    client: FlaskClient,
    api_headers: dict[str, str],
    merchant: Merchant,
    emulator_control: EmulatorControl,
    receiver: tuple[Receiver, str],
) -> None:
    if app.extensions["apg"].settings.app.database_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers: concurrent claimers need PostgreSQL")
    _, url = receiver
    subscribe(client, api_headers, url)
    for _ in range(5):
        completed_payment(merchant, emulator_control)
    deliver_nothing_but_fan_out(app)
    policy = policy_of(app.extensions["apg"].settings.webhooks)
    now = app.extensions["apg"].clock.now()

    def claim(_: int) -> list[int]:
        with app.app_context():
            return [held for held, _ in delivery.claim(now, policy)]

    claimed = [d for batch in together(8, claim) for d in batch]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 5


def deliver_nothing_but_fan_out(app: Flask) -> None:
    with app.app_context():
        delivery.fan_out(app.extensions["apg"].clock.now(), lambda *_: "test")
