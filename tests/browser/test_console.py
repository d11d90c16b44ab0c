"""The ops console in a real browser: an operator signs in with the ops token, sees every
section, and resolves a payment held for review by clicking; keyboard-only sign-in works; the
dashboard fits a phone. Screenshots of each step land in tests/browser/artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction
from tests.support.console import OPS_TOKEN, SECTIONS
from tests.support.factories import make_payment

Shot = Callable[[Any, str], Path]


def test_an_operator_signs_in_and_resolves_a_payment_held_for_review(
    guarded: Flask, page: Any, screenshot: Shot, tenant: tuple[str, str]
) -> None:
    from playwright.sync_api import expect

    held = make_payment(guarded, tenant[0], status="review", status_reason="amount 50 not 100")
    page.goto("/ops/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "console-signin")

    page.get_by_label("Ops token").fill(OPS_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    for section in SECTIONS:
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    screenshot(page, "console-dashboard")

    card = page.locator("article", has=page.locator("code", has_text=held))
    card.get_by_label("Completed (the money moved)").check()
    card.get_by_label("Note (required: what you checked)").fill("receipt on the statement")
    card.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_role("status").filter(has_text=f"{held} is now completed")).to_be_visible()
    expect(page.locator("article code", has_text=held)).to_have_count(0)
    screenshot(page, "console-resolved")

    with guarded.app_context():
        assert db.session.get(PaymentTransaction, held).status == "completed"  # type: ignore[union-attr]
        [operator] = db.session.execute(
            select(PaymentEvent).where(
                PaymentEvent.payment_id == held, PaymentEvent.kind == "operator"
            )
        ).scalars()
        assert operator.detail == {
            "action": "resolve",
            "note": "receipt on the statement",
            "remote_addr": "127.0.0.1",
        }
        db.session.rollback()


def test_signing_in_works_from_the_keyboard_alone(guarded: Flask, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/ops/")
    expect(page.get_by_label("Ops token")).to_be_focused()  # autofocus: type at once
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.type("wrong")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("That is not the ops token")
    page.get_by_label("Ops token").focus()
    page.keyboard.type(OPS_TOKEN)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Health and readiness")).to_be_visible()
    page.keyboard.press("Tab")  # the first stop on the dashboard skips to its content
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_the_dashboard_fits_a_phone(
    guarded: Flask, mobile_page: Any, screenshot: Shot, tenant: tuple[str, str]
) -> None:
    from playwright.sync_api import expect

    make_payment(guarded, tenant[0], status="review")
    mobile_page.goto("/ops/")
    mobile_page.get_by_label("Ops token").fill(OPS_TOKEN)
    mobile_page.get_by_role("button", name="Sign in").click()
    expect(mobile_page.get_by_role("heading", name="Reconciliation")).to_be_visible()
    overflow = mobile_page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
    screenshot(mobile_page, "console-mobile")
