"""GET /api/v1/events: the tenant's events, newest first, by cursor and type."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from apg.extensions import db
from apg.payments.models import PaymentTransaction
from apg.payments.transitions import transition
from tests.support.factories import make_payment

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def settle(app: Flask, tenant_id: str, status: str, **fields: object) -> str:
    """A payment moved to `status` through the one transition function (so announced)."""
    payment_id = make_payment(app, tenant_id, **fields)
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        assert transition(payment, status, source="test", now=NOW)
        db.session.commit()
    return payment_id


def test_events_are_listed_newest_first_by_cursor(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    paid = [settle(app, tenant[0], "completed") for _ in range(3)]
    first = client.get("/api/v1/events?limit=2", headers=api_headers).get_json()
    assert first["has_more"] is True
    assert [e["data"]["id"] for e in first["data"]] == paid[::-1][:2]
    after = first["data"][-1]["id"]
    rest = client.get(f"/api/v1/events?starting_after={after}", headers=api_headers).get_json()
    assert ([e["data"]["id"] for e in rest["data"]], rest["has_more"]) == ([paid[0]], False)


def test_events_filter_by_type(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    settle(app, tenant[0], "completed")
    failed = settle(app, tenant[0], "failed")
    payout = settle(
        app, tenant[0], "completed", transaction_type="b2c_payment", payment_method_type="mpesa_b2c"
    )
    found = client.get("/api/v1/events?type=payment.failed", headers=api_headers).get_json()
    assert [(e["type"], e["data"]["id"]) for e in found["data"]] == [("payment.failed", failed)]
    found = client.get("/api/v1/events?type=payout.completed", headers=api_headers).get_json()
    assert [(e["data"]["object"], e["data"]["id"]) for e in found["data"]] == [("payout", payout)]


def test_an_event_is_fetched_by_its_id(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    payment_id = settle(app, tenant[0], "completed", receipt="NLJ7RT61SV")
    [listed] = client.get("/api/v1/events", headers=api_headers).get_json()["data"]
    event = client.get(f"/api/v1/events/{listed['id']}", headers=api_headers).get_json()
    assert event == listed
    assert (event["object"], event["type"]) == ("event", "payment.completed")
    assert event["data"]["id"] == payment_id
    assert (event["data"]["receipt"], event["data"]["previous_status"]) == (
        "NLJ7RT61SV",
        "processing",
    )


def test_an_unknown_or_malformed_event_id_is_a_404(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    for event_id in ("evt_999999", "evt_x", "42", "evt_" + "9" * 30):
        response = client.get(f"/api/v1/events/{event_id}", headers=api_headers)
        assert response.status_code == 404, event_id
    response = client.get("/api/v1/events?starting_after=evt_999999", headers=api_headers)
    assert (response.status_code, response.get_json()["error"]["param"]) == (
        404,
        "starting_after",
    )


def test_an_unknown_type_filter_is_refused(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    response = client.get("/api/v1/events?type=payment.processing", headers=api_headers)
    assert response.status_code == 400
