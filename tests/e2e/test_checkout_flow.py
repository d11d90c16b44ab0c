"""Hosted checkout end to end over real HTTP: the merchant creates a session, the customer pays
on its page (prompt, Paybill), the emulator answers, the session completes once and tells the
merchant; failures free it for a retry; time expires it; nothing pays it twice."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests
from flask import Flask

from apg.checkout.outcomes import expire_due
from apg.extensions import db
from apg.payments.models import OutboxEvent, PaymentTransaction
from apg.webhooks import verify_signature
from tests.e2e.test_c2b_flow import call, settle_c2b, simulate
from tests.e2e.test_merchant_webhooks import deliver
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant
from tests.support.servers import Receiver

SESSION = {
    "amount": 150000,
    "reference": "ORDER-42",
    "description": "Two mangoes",
    "success_url": "https://shop.example/paid?order=42",
    "cancel_url": "https://shop.example/cart",
}


def create_session(merchant: Merchant, **overrides: Any) -> dict[str, Any]:
    response = call(merchant, "POST", "/api/v1/checkout-sessions", {**SESSION, **overrides})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def page_path(session: dict[str, Any]) -> str:
    match = re.fullmatch(r"http://127\.0\.0\.1:\d+(/checkout/[A-Za-z0-9_-]{43})", session["url"])
    assert match, session["url"]
    return match.group(1)


def pay(merchant: Merchant, path: str, phone: str, *, js: bool = True) -> requests.Response:
    headers = {"Accept": "application/json"} if js else {}
    return requests.post(
        f"{merchant.base_url}{path}/pay",
        data={"phone": phone},
        headers=headers,
        allow_redirects=False,
        timeout=30,
    )


def status(merchant: Merchant, path: str) -> dict[str, Any]:
    response = requests.get(f"{merchant.base_url}{path}/status", timeout=30)
    return response.json()  # type: ignore[no-any-return]


def prompts(app: Flask, session_id: str) -> list[PaymentTransaction]:
    with app.app_context():
        rows = db.session.execute(
            db.select(PaymentTransaction).order_by(PaymentTransaction.created_at)
        ).scalars()
        found = [t for t in rows if (t.metadata_ or {}).get("checkout_session_id") == session_id]
        db.session.expunge_all()
        return found


def events(app: Flask, type_: str) -> list[OutboxEvent]:
    with app.app_context():
        found = list(
            db.session.execute(db.select(OutboxEvent).where(OutboxEvent.type == type_)).scalars()
        )
        db.session.expunge_all()
        return found


def test_a_customer_pays_on_the_page_and_the_merchant_is_told_once(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    session = create_session(merchant, phone_number="0708374149")
    assert (session["status"], session["attempts"], session["payment_id"]) == ("open", 0, None)
    path = page_path(session)

    page = requests.get(f"{merchant.base_url}{path}", timeout=30)
    assert page.status_code == 200
    assert "Tenant A" in page.text and "KES 1,500" in page.text and "ORDER-42" in page.text
    assert 'value="0708374149"' in page.text  # prefilled, as the customer writes it

    paid = pay(merchant, path, "0708374149", js=False)  # the page without JavaScript
    assert (paid.status_code, paid.headers["Location"]) == (303, path)
    assert status(merchant, path)["state"] == "waiting"
    [prompt] = prompts(app, session["id"])
    assert (prompt.amount, prompt.reference, prompt.phone_number) == (
        150000,
        "ORDER-42",
        "254708374149",
    )

    emulator_control.settle(prompt.ref("checkout_request_id") or "")
    done = status(merchant, path)
    assert done["state"] == "succeeded" and done["receipt"]
    assert done["redirect_url"] == f"https://shop.example/paid?order=42&session_id={session['id']}"
    fetched = call(merchant, "GET", f"/api/v1/checkout-sessions/{session['id']}").json()
    assert (fetched["status"], fetched["payment_id"], fetched["url"]) == (
        "completed",
        prompt.id,
        None,
    )
    [event] = events(app, "checkout_session.completed")
    assert event.payload["id"] == session["id"] and event.payload["payment_id"] == prompt.id

    again = requests.get(f"{merchant.base_url}{path}", timeout=30)  # opened again later
    assert again.status_code == 200 and done["receipt"] in again.text
    assert pay(merchant, path, "0708374149").status_code == 409  # never paid twice
    assert len(prompts(app, session["id"])) == 1


def test_a_failed_prompt_says_why_and_the_customer_may_try_again(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    path = page_path(session := create_session(merchant))
    first = pay(merchant, path, "0708374151")  # the emulator's "customer cancelled"
    assert first.status_code == 200 and first.json()["state"] == "waiting"
    emulator_control.settle(prompts(app, session["id"])[0].ref("checkout_request_id") or "")
    failed = status(merchant, path)
    assert (failed["state"], failed["retry"]) == ("open", True)
    assert "cancelled" in failed["message"]

    assert pay(merchant, path, "0708374149").status_code == 200
    second = prompts(app, session["id"])[1]
    emulator_control.settle(second.ref("checkout_request_id") or "")
    assert status(merchant, path)["state"] == "succeeded"
    fetched = call(merchant, "GET", f"/api/v1/checkout-sessions/{session['id']}").json()
    assert (fetched["attempts"], fetched["payment_id"]) == (2, second.id)


def test_a_wrong_phone_number_is_refused_beside_the_field(merchant: Merchant) -> None:
    path = page_path(create_session(merchant))
    as_json = pay(merchant, path, "0208374149")  # a landline
    assert as_json.status_code == 400
    assert as_json.json()["error"]["param"] == "phone"
    as_form = pay(merchant, path, "12", js=False)
    assert as_form.status_code == 400 and "aria-invalid" in as_form.text
    assert status(merchant, path)["state"] == "open"  # nothing was claimed


def test_concurrent_pays_send_one_prompt(app: Flask, merchant: Merchant) -> None:
    path = page_path(session := create_session(merchant))
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(lambda _: pay(merchant, path, "0708374149").status_code, range(6)))
    assert codes == [200, 409, 409, 409, 409, 409]
    assert len(prompts(app, session["id"])) == 1


def test_a_paybill_payment_naming_the_account_number_completes_it(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    assert call(merchant, "POST", "/api/v1/c2b/register-urls", {"version": "v2"}).ok
    session = create_session(merchant)
    page = requests.get(f"{merchant.base_url}{page_path(session)}", timeout=30)
    assert session["account_number"] in page.text and "174379" in page.text

    settle_c2b(emulator_control, simulate(merchant, session["account_number"], amount=100000))
    assert status(merchant, page_path(session))["state"] == "open"  # short: not its payment
    settle_c2b(emulator_control, simulate(merchant, session["account_number"].lower(), 150000))
    assert status(merchant, page_path(session))["state"] == "succeeded"
    [event] = events(app, "checkout_session.completed")
    assert event.payload["payment_id"].startswith("pay_")


def test_an_unpaid_session_expires_and_the_merchant_hears_it(
    app: Flask, merchant: Merchant, clock: ShiftableClock
) -> None:
    session = create_session(merchant)
    path = page_path(session)
    clock.offset += timedelta(minutes=31)
    page = requests.get(f"{merchant.base_url}{path}", timeout=30)  # expires it on sight
    assert page.status_code == 410 and "expired" in page.text.lower()
    assert pay(merchant, path, "0708374149").status_code == 409
    with app.app_context():
        assert expire_due(clock.now()) == 0  # once
    [event] = events(app, "checkout_session.expired")
    assert (event.payment_id, event.payload["status"]) == (None, "expired")
    listed = call(merchant, "GET", "/api/v1/events?type=checkout_session.expired").json()
    assert [e["data"]["id"] for e in listed["data"]] == [session["id"]]


def test_a_session_with_a_prompt_out_does_not_expire_under_it(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl, clock: ShiftableClock
) -> None:
    path = page_path(session := create_session(merchant))
    assert pay(merchant, path, "0708374149").status_code == 200
    clock.offset += timedelta(minutes=31)
    with app.app_context():
        assert expire_due(clock.now()) == 0
    emulator_control.settle(prompts(app, session["id"])[0].ref("checkout_request_id") or "")
    assert status(merchant, path)["state"] == "succeeded"  # the money that came is its payment


def test_unknown_and_malformed_links_show_a_page_not_a_trace(merchant: Merchant) -> None:
    for token in ("A" * 43, "short", "%00" * 3, "x" * 400):
        page = requests.get(f"{merchant.base_url}/checkout/{token}", timeout=30)
        assert page.status_code == 404, token
        assert "not valid" in page.text and "Traceback" not in page.text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_no_paybill_or_qr_is_offered_where_a_c2b_payment_would_not_reach_us(
    merchant: Merchant,
) -> None:
    path = page_path(create_session(merchant))
    page = requests.get(f"{merchant.base_url}{path}", timeout=30)
    assert "Pay with Paybill" not in page.text and "qr.png" not in page.text
    assert requests.get(f"{merchant.base_url}{path}/qr.png", timeout=30).status_code == 404

    assert call(merchant, "POST", "/api/v1/c2b/register-urls", {"version": "v2"}).ok
    page = requests.get(f"{merchant.base_url}{path}", timeout=30)
    assert "Pay with Paybill" in page.text and f"{path}/qr.png" in page.text
    png = requests.get(f"{merchant.base_url}{path}/qr.png", timeout=30)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["Content-Type"] == "image/png"


def test_both_session_events_reach_a_subscribed_webhook_signed(
    app: Flask,
    merchant: Merchant,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    types = ["checkout_session.completed", "checkout_session.expired"]
    endpoint = call(
        merchant, "POST", "/api/v1/webhook-endpoints", {"url": url, "event_types": types}
    )
    assert endpoint.status_code == 201, endpoint.text
    paid, unpaid = create_session(merchant), create_session(merchant)
    assert pay(merchant, page_path(paid), "0708374149").status_code == 200
    emulator_control.settle(prompts(app, paid["id"])[0].ref("checkout_request_id") or "")
    clock.offset += timedelta(minutes=31)
    with app.app_context():
        assert expire_due(clock.now()) == 1
    assert deliver(app) == {"fanned_out": 2, "delivered": 2}  # not the payment's own event
    bodies = [json.loads(body) for _, body in hook.received]
    assert all(
        verify_signature(
            body, headers["Apg-Signature"], endpoint.json()["secret"], now=clock.now().timestamp()
        )
        for headers, body in hook.received
    )
    assert sorted((e["type"], e["data"]["id"], e["data"]["status"]) for e in bodies) == sorted(
        [
            ("checkout_session.completed", paid["id"], "completed"),
            ("checkout_session.expired", unpaid["id"], "expired"),
        ]
    )


def test_sessions_with_a_prompt_out_never_hold_up_the_expiry_of_others(
    app: Flask, merchant: Merchant, clock: ShiftableClock
) -> None:
    prompting = create_session(merchant)  # due first, but its prompt may still be paid
    assert pay(merchant, page_path(prompting), "0708374149").status_code == 200
    clock.offset += timedelta(minutes=1)
    idle, other = create_session(merchant), create_session(merchant)
    clock.offset += timedelta(minutes=31)
    with app.app_context():
        assert expire_due(clock.now(), only=other["id"]) == 1  # the page that found it due
        assert expire_due(clock.now(), batch=1) == 1
        assert expire_due(clock.now(), batch=1) == 0
    assert [e.payload["id"] for e in events(app, "checkout_session.expired")] == [
        other["id"],
        idle["id"],
    ]
