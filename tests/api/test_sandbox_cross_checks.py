"""The sandbox names a test identity (254705912645) for whichever customer was paid: there a
B2C result's payee is not compared with the phone paid; everything else still is, and the
production (and emulator) accounts compare it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from apg import onboarding
from apg.payments.ports import Operation
from apg.processors.mpesa.products import b2c
from tests.support.factories import make_account, make_tenant

SAMPLES = Path(__file__).parent.parent / "fixtures" / "daraja"
SAMPLE = SAMPLES / "b2c_result_success_daraja-docs-2024.json"
INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}
SECRETS = {"consumer_key": "k" * 20, "consumer_secret": "s" * 20, "passkey": None}


def payout(account_id: str, phone: str) -> Operation:
    return Operation(
        id="pay_1",
        tenant_id="ten_1",
        account_id=account_id,
        transaction_type="b2c_payment",
        amount=1000,  # KES 10: the sample's TransactionAmount
        currency="KES",
        reference="INV-1",
        phone_number=phone,
    )


def mismatches(
    app: Flask, environment: str, phone: str, receipt: str = "SG632NMUAB"
) -> tuple[str, ...]:
    tenant_id, _ = make_tenant(app, f"Payer {environment}")
    with app.app_context():
        services = app.extensions["apg"]
        account = make_account(
            environment=environment, kind="b2c", shortcode="600996", **INITIATOR, **SECRETS
        )
        added = onboarding.add_merchant_account(services, tenant_id, account)
        body = json.loads(SAMPLE.read_text())
        body["Result"]["TransactionID"] = receipt
        for item in body["Result"]["ResultParameters"]["ResultParameter"]:
            if item["Key"] == "TransactionReceipt":
                item["Value"] = receipt
        outcome = b2c.parse_result(json.dumps(body).encode()).outcome
        return services.processors.get("mpesa").cross_check(payout(added.id, phone), outcome)


def test_a_sandbox_result_naming_the_test_identity_matches_any_phone(app: Flask) -> None:
    assert mismatches(app, "sandbox", "254708374149") == ()


@pytest.mark.parametrize("environment", ["production", "emulator"])
def test_elsewhere_the_payee_must_be_the_phone_paid(app: Flask, environment: str) -> None:
    [problem] = mismatches(app, environment, "254708374149")
    assert "the payee 254705912645" in problem


def test_the_sandbox_still_checks_the_receipt(app: Flask) -> None:
    problems = mismatches(app, "sandbox", "254708374149", receipt="sg632nmuab")
    assert problems and all("payee" not in problem for problem in problems)
