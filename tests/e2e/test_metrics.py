"""GET /metrics in one process (the default registry): requests by URL rule, Daraja calls by API
path, callbacks by kind and outcome, breaker states and the outbox backlog. Counters only grow
across the session, so each test compares before and after."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from apg.extensions import db
from apg.ops.metrics import CONTENT_TYPE, observe_daraja_call
from apg.payments.models import OutboxEvent
from apg.processors.mpesa.accounts import stk_account_id
from daraja_emulator import EmulatorServer
from tests.support.factories import EmulatorControl, Merchant

STK_PATH = "/mpesa/stkpush/v1/processrequest"


def scrape(client: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type == CONTENT_TYPE
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_and_timed_by_url_rule_not_raw_path(client: FlaskClient) -> None:
    rule = "/api/v1/payments/<payment_id>"
    before = scrape(client)
    for payment_id in ("pay_a", "pay_b", "pay_c"):
        client.get(f"/api/v1/payments/{payment_id}")  # 401: no key
    after = scrape(client)
    labels = {"endpoint": rule, "method": "GET", "status": "401"}
    assert (
        value(after, "apg_http_requests_total", **labels)
        - value(before, "apg_http_requests_total", **labels)
        == 3
    )
    timed = {"endpoint": rule, "method": "GET"}
    assert (
        value(after, "apg_http_request_duration_seconds_count", **timed)
        - value(before, "apg_http_request_duration_seconds_count", **timed)
        == 3
    )
    assert not [key for key in after if ("endpoint", "/api/v1/payments/pay_a") in key[1]]


def test_daraja_calls_callbacks_breakers_and_outbox_backlog(
    app: Flask,
    client: FlaskClient,
    tenant: tuple[str, str],
    emulator: EmulatorServer,
    merchant: Merchant,
    emulator_control: EmulatorControl,
) -> None:
    before = scrape(client)
    created = merchant.create_payment()
    assert created.status_code == 201, created.text
    emulator_control.settle(created.json()["checkout_request_id"])
    after = scrape(client)

    calls = "apg_daraja_request_duration_seconds_count"
    assert value(after, calls, path=STK_PATH) - value(before, calls, path=STK_PATH) == 1
    applied = {"kind": "stk", "outcome": "applied"}
    assert (
        value(after, "apg_callbacks_total", **applied)
        - value(before, "apg_callbacks_total", **applied)
        == 1
    )
    with app.app_context():
        breaker = f"mpesa {stk_account_id(tenant[0])} {emulator.url}"
    assert after[("apg_circuit_breaker_open", frozenset({("breaker", breaker)}))] == 0  # closed
    with app.app_context():
        undelivered = db.session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
        )
    assert undelivered and after[("apg_outbox_backlog", frozenset())] == undelivered
    for status in ("pending", "delivered", "failed"):  # none: no endpoint is subscribed
        assert after[("apg_webhook_deliveries", frozenset({("status", status)}))] == 0


def test_daraja_errors_are_counted_by_path(client: FlaskClient) -> None:
    labels = {"path": "/mpesa/test/v1/x", "error": "OutcomeUnknownError"}
    before = value(scrape(client), "apg_daraja_errors_total", **labels)
    observe_daraja_call("/mpesa/test/v1/x", 0.2, "OutcomeUnknownError")
    assert value(scrape(client), "apg_daraja_errors_total", **labels) == before + 1
