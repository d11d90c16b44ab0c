"""POST/GET /api/v1/checkout-sessions: what a session takes and shows, its errors, its page
token (hashed, never guessable) and who may see it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apg.checkout.models import CheckoutSession
from apg.extensions import db
from tests.support.clock import ShiftableClock
from tests.support.factories import make_tenant

BODY = {
    "amount": 150000,
    "reference": "ORDER-42",
    "success_url": "https://shop.example/paid",
    "cancel_url": "https://shop.example/cart",
}


def create(client: FlaskClient, headers: dict[str, str], **overrides: Any) -> Any:
    return client.post("/api/v1/checkout-sessions", json={**BODY, **overrides}, headers=headers)


def test_a_session_shows_its_page_url_and_fields(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    answer = create(client, api_headers, phone_number="+254 708 374 149", metadata={"o": "42"})
    assert answer.status_code == 201, answer.json
    session = answer.json
    assert session["object"] == "checkout_session" and session["id"].startswith("cs_")
    assert session["status"] == "open" and session["phone_number"] == "254708374149"
    assert session["url"].startswith("http://localhost/checkout/")
    token = session["url"].rsplit("/", 1)[1]
    assert len(token) == 43
    assert len(session["account_number"]) == 8 and session["account_number"].isalnum()
    with app.app_context():
        row = db.session.get(CheckoutSession, session["id"])
        assert token not in (row.token_hash, row.token_ciphertext)  # only its hash finds it
    fetched = client.get(f"/api/v1/checkout-sessions/{session['id']}", headers=api_headers)
    assert fetched.json == session
    listed = client.get("/api/v1/checkout-sessions?status=open", headers=api_headers).json
    assert [s["id"] for s in listed["data"]] == [session["id"]]
    assert (
        client.get("/api/v1/checkout-sessions?status=expired", headers=api_headers).json["data"]
        == []
    )


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"cancel_url": "/relative"}, "cancel_url"),
        ({"amount": 150050}, "amount"),
        ({"amount": 99}, "amount"),
        ({"reference": ""}, "reference"),
        ({"reference": "THIRTEEN-CHAR"}, "reference"),
        ({"phone_number": "0208374149"}, "phone_number"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, api_headers: dict[str, str], overrides: dict[str, Any], param: str
) -> None:
    answer = create(client, api_headers, **overrides)
    assert answer.status_code == 400, answer.json
    error = answer.json["error"]
    assert error["param"] == param or param in str(error.get("errors", error)), error


def test_the_expiry_must_be_5_minutes_to_24_hours_away(
    client: FlaskClient, api_headers: dict[str, str], clock: ShiftableClock
) -> None:
    for minutes, status in ((4, 400), (5 * 60 * 24, 400), (6, 201), (24 * 60, 201)):
        at = clock.now() + timedelta(minutes=minutes, seconds=30 if minutes < 10 else -30)
        answer = create(client, api_headers, expires_at=at.isoformat())
        assert answer.status_code == status, (minutes, answer.json)


def test_another_tenant_sees_none_of_it(
    app: Flask, client: FlaskClient, api_headers: dict[str, str]
) -> None:
    mine = create(client, api_headers).json
    _, other_key = make_tenant(app, "Tenant B")
    theirs = {"Authorization": f"Bearer {other_key}"}
    assert client.get(f"/api/v1/checkout-sessions/{mine['id']}", headers=theirs).status_code == 404
    assert client.get("/api/v1/checkout-sessions", headers=theirs).json["data"] == []


def test_an_idempotency_key_answers_the_same_session(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    headers = {**api_headers, "Idempotency-Key": "order-42-checkout"}
    first, second = create(client, headers), create(client, headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json["id"] == second.json["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


def test_pages_are_listed_newest_first_with_a_cursor(
    client: FlaskClient, api_headers: dict[str, str], clock: ShiftableClock
) -> None:
    made = []
    for _ in range(3):
        made.append(create(client, api_headers).json["id"])
        clock.offset += timedelta(seconds=1)
    page = client.get("/api/v1/checkout-sessions?limit=2", headers=api_headers).json
    assert ([s["id"] for s in page["data"]], page["has_more"]) == (made[:0:-1], True)
    rest = client.get(
        f"/api/v1/checkout-sessions?limit=2&starting_after={made[1]}", headers=api_headers
    ).json
    assert ([s["id"] for s in rest["data"]], rest["has_more"]) == ([made[0]], False)


def test_an_unknown_cursor_is_a_404_naming_it(
    client: FlaskClient, api_headers: dict[str, str]
) -> None:
    answer = client.get("/api/v1/checkout-sessions?starting_after=cs_nope", headers=api_headers)
    assert answer.status_code == 404
    assert answer.json["error"]["param"] == "starting_after"
