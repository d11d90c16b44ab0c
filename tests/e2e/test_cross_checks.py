"""Forged STK callbacks and C2B confirmations over real HTTP: the right ids, but another
amount, phone or account, or a receipt that is none. Each holds its payment for review (or
records nothing) and credits nothing; the same report naming what was asked still settles it.
Results (B2C, B2B, reversals, Transaction Status): test_result_cross_checks."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from apg import onboarding
from apg.extensions import db
from apg.payments.models import PaymentTransaction
from tests.support.cross_checks import assert_held, post, sample, stored, verdicts
from tests.support.factories import make_account, make_payment, make_tenant
from tests.support.servers import LiveServer

# --- STK Push ----------------------------------------------------------------------------------


def stk_success(checkout_id: str, **items: Any) -> dict[str, Any]:
    values = {
        "Amount": 100.00,
        "MpesaReceiptNumber": "UKN1ABCDEF",
        "TransactionDate": 20261123101500,
        "PhoneNumber": 254708374149,  # make_payment's phone
        **items,
    }
    callback = {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout_id,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [{"Name": k, "Value": v} for k, v in values.items()]},
    }
    return {"Body": {"stkCallback": callback}}


@pytest.mark.parametrize(
    ("items", "evidence"),
    [
        ({"Amount": 50.00}, "amount 5000 does not match"),
        ({"PhoneNumber": 254711111111}, "PhoneNumber 254711111111 is not 254708374149"),
        ({"PhoneNumber": "2547******48"}, "PhoneNumber 2547******48"),
        ({"MpesaReceiptNumber": "ukn1abcdef"}, "not 10 upper-case letters and digits"),
        ({"MpesaReceiptNumber": "UKN1"}, "not 10 upper-case letters and digits"),
        ({"MpesaReceiptNumber": "UKN0000000"}, "placeholder"),
    ],
    ids=["amount", "phone", "masked-phone", "lower-case-receipt", "short-receipt", "placeholder"],
)
def test_a_forged_stk_callback_is_held_for_review(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    items: dict[str, Any],
    evidence: str,
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_forged")
    post(app, gateway_server, tenant[0], "stk", stk_success("ws_CO_forged", **items))
    assert_held(app, payment_id, evidence)
    assert verdicts(app) == ["review"]


@pytest.mark.parametrize("phone", [254708374149, "2547******49", "0708374149"])
def test_an_stk_callback_naming_the_payers_phone_as_shown_completes(
    app: Flask, gateway_server: LiveServer, tenant: tuple[str, str], phone: Any
) -> None:
    payment_id = make_payment(app, tenant[0], checkout_request_id="ws_CO_right")
    post(app, gateway_server, tenant[0], "stk", stk_success("ws_CO_right", PhoneNumber=phone))
    assert (stored(app, payment_id).status, verdicts(app)) == ("completed", ["applied"])


# --- C2B confirmations --------------------------------------------------------------------------

V2_MASKED = sample("c2b_confirmation_v2_masked_daraja-docs.json")  # KES 5.00 to 600966


@pytest.fixture
def shop(app: Flask) -> str:
    """A tenant whose paybill is the docs sample's 600966, and a second paybill, 600967."""
    tenant_id = make_tenant(app, "Shop", shortcode="600966")[0]
    with app.app_context():
        account = make_account(shortcode="600967")
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, account)
    return tenant_id


def c2b_payments(app: Flask) -> list[PaymentTransaction]:
    query = select(PaymentTransaction).where(PaymentTransaction.transaction_type == "c2b_payment")
    with app.app_context():
        return list(db.session.execute(query).scalars())


@pytest.mark.parametrize("trans_id", ["rkl51zdr4f", "RKL51", "RKL0000000"])
def test_a_confirmation_whose_trans_id_is_no_receipt_records_nothing(
    app: Flask, gateway_server: LiveServer, shop: str, trans_id: str
) -> None:
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED | {"TransID": trans_id})
    assert (c2b_payments(app), verdicts(app)) == ([], ["review"])


@pytest.mark.parametrize(
    ("copy", "evidence"),
    [
        ({"TransAmount": "6.00"}, "amount 600 does not match the 500 recorded"),
        ({"BusinessShortCode": "600967"}, "paid to 600967"),
    ],
    ids=["amount", "another-account"],
)
def test_a_c2b_copy_of_an_stk_payment_that_disagrees_holds_it_for_review(
    app: Flask, gateway_server: LiveServer, shop: str, copy: dict[str, str], evidence: str
) -> None:
    stk = make_payment(app, shop, status="completed", receipt="RKL51ZDR4F", amount=500)
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED | copy)
    assert_held(app, stk, evidence)
    assert (c2b_payments(app), verdicts(app)) == ([], ["review"])


def test_a_c2b_confirmation_again_with_another_amount_is_a_conflict_not_a_change(
    app: Flask, gateway_server: LiveServer, shop: str
) -> None:
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED)
    post(app, gateway_server, shop, "c2b-confirmation", V2_MASKED | {"TransAmount": "50.00"})
    [payment] = c2b_payments(app)
    assert (payment.status, payment.amount, payment.conflicts) == ("completed", 500, 1)
    assert verdicts(app) == ["created", "conflict"]
