"""The hosted checkout in a real browser (Chromium, phone-sized): a customer pays with each
emulator scenario phone, by Paybill and by Dynamic QR, with the keyboard alone and without
JavaScript; an expired link shows a clear page. Screenshots land in tests/browser/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from apg.extensions import db
from apg.payments.models import PaymentTransaction
from tests.e2e.test_c2b_flow import call, settle_c2b, simulate
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant
from tests.support.servers import LiveServer

Shot = Callable[[Any, str], Path]
# The emulator's scenario phones (config/mpesa.yaml; README): the page's words for each.
SCENARIOS = [
    ("0708374149", "completed", None),
    ("0708374150", "insufficient-funds", "balance is not enough"),
    ("0708374151", "cancelled", "You cancelled the M-Pesa request"),
    ("0708374152", "timeout", "did not answer in time"),
    ("0708374153", "wrong-pin", "PIN was wrong"),
]
WAIT_MS = 15_000  # the page polls every 2 s


@pytest.fixture
def shop() -> Iterator[LiveServer]:
    """The merchant's own site, where the page sends the customer back."""

    def site(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b"<!doctype html><html lang=en><title>Shop</title><h1>Back at the shop</h1>"]

    server = LiveServer(site).start()
    yield server
    server.stop()


def new_session(merchant: Merchant, shop: LiveServer, **extra: Any) -> dict[str, Any]:
    body = {
        "amount": 150000,
        "reference": "ORDER-42",
        "description": "Two mangoes",
        "success_url": f"{shop.url}/paid",
        "cancel_url": f"{shop.url}/cart",
        **extra,
    }
    answer = call(merchant, "POST", "/api/v1/checkout-sessions", body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def path_of(session: dict[str, Any]) -> str:
    return "/" + session["url"].split("/", 3)[3]


def prompts_of(app: Flask, session_id: str) -> list[PaymentTransaction]:
    """The session's prompts (payments tagged with it), refs loaded."""
    with app.app_context():
        rows = db.session.execute(db.select(PaymentTransaction)).scalars()
        found = [t for t in rows if (t.metadata_ or {}).get("checkout_session_id") == session_id]
        db.session.expunge_all()
        return found


def prompt_of(app: Flask, session_id: str) -> PaymentTransaction:
    [found] = prompts_of(app, session_id)
    return found


def open_fallback(page: Any, merchant: Merchant, shop: LiveServer, way: str) -> dict[str, Any]:
    """A new session's page, the account's C2B URLs registered (so Paybill and QR are offered),
    with the fallback `way` (its summary's text) opened; returns the session."""
    assert call(merchant, "POST", "/api/v1/c2b/register-urls", {"version": "v2"}).ok
    session = new_session(merchant, shop)
    page.goto(path_of(session))
    page.get_by_text(way).click()
    return session


def pay_by_prompt(page: Any, phone: str) -> None:
    from playwright.sync_api import expect

    page.get_by_label("M-Pesa phone number").fill(phone)
    with page.expect_response(re.compile(r"/pay$")) as sent:
        page.get_by_role("button", name=re.compile(r"pay KES 1,500", re.IGNORECASE)).click()
    assert sent.value.status == 200, sent.value.text()
    expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()


@pytest.mark.parametrize(("phone", "name", "words"), SCENARIOS, ids=[s[1] for s in SCENARIOS])
def test_a_customer_pays_by_prompt_with_each_scenario_phone(
    mobile_page: Any,
    app: Flask,
    merchant: Merchant,
    shop: LiveServer,
    emulator_control: EmulatorControl,
    screenshot: Shot,
    phone: str,
    name: str,
    words: str | None,
) -> None:
    from playwright.sync_api import expect

    page = mobile_page
    session = new_session(merchant, shop)
    page.goto(path_of(session))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tenant A")
    expect(page.locator("main")).to_contain_text("KES 1,500")
    expect(page.locator("main")).to_contain_text("ORDER-42")
    pay_by_prompt(page, phone)
    screenshot(page, f"checkout-{name}-waiting")

    emulator_control.settle(prompt_of(app, session["id"]).ref("checkout_request_id") or "")
    if words is None:
        expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WAIT_MS)
        receipt = prompt_of(app, session["id"]).receipt
        expect(page.locator("#receipt-number")).to_have_text(receipt or "")
        screenshot(page, f"checkout-{name}")
        page.wait_for_url(f"{shop.url}/paid?session_id={session['id']}", timeout=WAIT_MS)
        return
    expect(page.get_by_role("alert")).to_contain_text(words, timeout=WAIT_MS)
    retry = page.get_by_role("button", name=re.compile("Try again"))
    expect(retry).to_be_visible()
    screenshot(page, f"checkout-{name}")
    pay_by_prompt(page, "0708374149")  # the retry: another phone that pays
    assert len(prompts_of(app, session["id"])) == 2


def test_a_customer_pays_by_paybill_with_the_page_account_number(
    mobile_page: Any,
    merchant: Merchant,
    shop: LiveServer,
    emulator_control: EmulatorControl,
    screenshot: Shot,
) -> None:
    from playwright.sync_api import expect

    page = mobile_page
    session = open_fallback(page, merchant, shop, "Pay with Paybill")
    expect(page.locator("#business-number")).to_have_text("174379")
    account = page.locator("#account-number").inner_text()
    assert account == session["account_number"]
    screenshot(page, "checkout-paybill")

    # The customer pays from the M-Pesa menu: Daraja confirms it to the registered URL.
    settle_c2b(emulator_control, simulate(merchant, account, amount=150000))
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WAIT_MS)
    screenshot(page, "checkout-paybill-paid")
    page.wait_for_url(f"{shop.url}/paid?session_id={session['id']}", timeout=WAIT_MS)


def test_a_customer_pays_by_scanning_the_dynamic_qr_code(
    mobile_page: Any,
    merchant: Merchant,
    shop: LiveServer,
    emulator_control: EmulatorControl,
    screenshot: Shot,
) -> None:
    from playwright.sync_api import expect

    page = mobile_page
    session = open_fallback(page, merchant, shop, "Scan a QR code")
    qr = page.get_by_role("img", name=re.compile("M-Pesa QR code"))
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.complete && image.naturalWidth") == 300
    screenshot(page, "checkout-qr")

    # The M-Pesa app scans the code Daraja made for this session, and the customer pays.
    codes = requests.get(
        f"{emulator_control.base_url}/_emulator/qr-codes",
        params={"ref_no": session["account_number"]},
        timeout=10,
    ).json()["data"]
    assert [(c["amount"], c["trx_code"], c["cpi"]) for c in codes] == [(1500, "PB", "174379")]
    paid = requests.post(
        f"{emulator_control.base_url}/_emulator/qr-codes/pay",
        json={"payload": codes[0]["payload"], "msisdn": "254708374149"},
        timeout=30,
    )
    assert paid.ok, paid.text
    settle_c2b(emulator_control, paid.json())
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible(timeout=WAIT_MS)
    screenshot(page, "checkout-qr-paid")


def test_the_keyboard_alone_pays_and_focus_follows_the_state(
    page: Any, app: Flask, merchant: Merchant, shop: LiveServer
) -> None:
    from playwright.sync_api import expect

    session = new_session(merchant, shop)
    page.goto(path_of(session))
    for _ in range(10):  # Tab from the top of the page to the phone field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "phone":
            break
    assert page.evaluate("document.activeElement.id") == "phone"
    page.keyboard.type("0708374149")
    with page.expect_response(re.compile(r"/pay$")):
        page.keyboard.press("Enter")
    expect(page.locator("#waiting-title")).to_be_focused()
    assert prompt_of(app, session["id"]).phone_number == "254708374149"


def test_without_javascript_the_form_posts_and_the_page_refreshes_to_its_end(
    browser: Any,
    app: Flask,
    gateway_server: LiveServer,
    merchant: Merchant,
    shop: LiveServer,
    emulator_control: EmulatorControl,
    screenshot: Shot,
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=gateway_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        session = new_session(merchant, shop)
        page.goto(path_of(session))
        page.get_by_label("M-Pesa phone number").fill("0708374149")
        page.get_by_role("button", name=re.compile("Pay KES")).click()  # 303 back to the page
        expect(page.get_by_role("heading", name="Check your phone")).to_be_visible()
        emulator_control.settle(prompt_of(app, session["id"]).ref("checkout_request_id") or "")
        # <noscript><meta refresh> reloads it: the paid page, with the receipt.
        expect(page.get_by_text("This payment is complete")).to_be_visible(timeout=WAIT_MS)
        screenshot(page, "checkout-no-javascript-paid")
    finally:
        context.close()


def test_an_expired_link_shows_a_clear_page(
    mobile_page: Any,
    merchant: Merchant,
    shop: LiveServer,
    clock: ShiftableClock,
    screenshot: Shot,
) -> None:
    from playwright.sync_api import expect

    session = new_session(merchant, shop)
    clock.offset += timedelta(minutes=31)
    answer = mobile_page.goto(path_of(session))
    assert answer.status == 410
    expect(mobile_page.get_by_role("heading", level=1)).to_contain_text("expired")
    screenshot(mobile_page, "checkout-expired")
    mobile_page.get_by_role("link", name=re.compile("Go back")).click()
    mobile_page.wait_for_url(f"{shop.url}/cart?session_id={session['id']}")
