"""The library API (apg.library) drives the same services as HTTP: what it records, the API
shows, and Daraja's callbacks (from the emulator) settle it."""

from __future__ import annotations

import pytest
from flask import Flask

from apg import onboarding
from apg.errors import InvalidRequestError
from apg.library import MpesaService, Transaction, create_mpesa_service
from apg.payments.models import PaymentMethod
from tests.support.factories import EmulatorControl, Merchant, make_account, make_tenant
from tests.support.servers import LiveServer

INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}


@pytest.fixture
def tenant_key(app: Flask) -> tuple[str, str]:
    tenant_id, api_key = make_tenant(app, "Embedded Ltd", **INITIATOR)
    with app.app_context():
        account = make_account(kind="b2c", shortcode="600000", passkey=None, **INITIATOR)
        onboarding.add_merchant_account(app.extensions["apg"], tenant_id, account)
    return tenant_id, api_key


@pytest.fixture
def service(app: Flask, tenant_key: tuple[str, str]) -> MpesaService:
    return create_mpesa_service("emulator", tenant_id=tenant_key[0], app=app)


def test_an_stk_push_from_the_library_is_the_apis_payment(
    service: MpesaService,
    tenant_key: tuple[str, str],
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
) -> None:
    txn = service.process_payment(
        Transaction(amount=10000, reference="LIB-1"),
        "stk_push",
        {"phone_number": "0708374149", "idempotency_key": "lib-1"},
    )
    assert (txn.status, txn.transaction_type) == ("processing", "stk_push")
    emulator_control.settle(txn.ref("checkout_request_id") or "")
    assert service.get_transaction_status(txn.id).status == "completed"
    seen = Merchant(gateway_server.url, tenant_key[1]).get_payment(txn.id).json()
    assert (seen["status"], seen["reference"]) == ("completed", "LIB-1")


def test_a_payment_method_object_gives_the_phone(service: MpesaService) -> None:
    method = PaymentMethod(type="mpesa", phone_number="254708374149")
    txn = service.process_payment(Transaction(amount=10000, reference="LIB-2"), method)
    assert txn.phone_number == "254708374149" and txn.transaction_type == "stk_push"


def test_a_payout_a_balance_and_a_reversal_through_the_library(
    service: MpesaService, emulator_control: EmulatorControl
) -> None:
    payout = service.process_payment(
        Transaction(amount=20000, reference="SAL-1"),
        "b2c",
        {"phone_number": "0712345678", "command_id": "SalaryPayment", "remarks": "Salary"},
    )
    emulator_control.settle_result(payout.ref("conversation_id") or "")
    assert service.get_transaction_status(payout.id).status == "completed"

    inquiry = service.get_account_balance(payout.account_id)
    emulator_control.settle_result(inquiry.ref("conversation_id") or "")
    accounts = service.get_transaction_status(inquiry.id).processor_data["result"]["accounts"]
    assert {a["name"] for a in accounts} >= {"Utility Account", "Working Account"}

    paid = service.process_payment(
        Transaction(amount=10000, reference="LIB-3"), "stk_push", {"phone_number": "0712345679"}
    )
    emulator_control.settle(paid.ref("checkout_request_id") or "")
    receipt = service.get_transaction_status(paid.id).receipt or ""
    reversal = service.reverse_transaction(None, receipt, None, "Refund")
    emulator_control.settle_result(reversal.ref("conversation_id") or "")
    assert service.get_transaction_status(paid.id).status == "reversed"


def test_library_errors_are_the_apis(service: MpesaService) -> None:
    with pytest.raises(InvalidRequestError) as info:
        service.process_payment(Transaction(amount=150, reference="X"), "stk_push", {})
    assert info.value.param == "amount"
    with pytest.raises(ValueError, match="payment_method"):
        service.process_payment(Transaction(amount=10000), "cheque")


def test_health_check(service: MpesaService) -> None:
    health = service.health_check()
    assert health["status"] == "ok" and health["checks"]["database"] == "ok"
    assert "mpesa" in health["checks"]
    summary = health["summary"]  # the design's: success rate, Daraja's time and uptime
    assert {"success_rate_last_hour", "daraja_average_ms", "daraja_uptime_percent"} <= set(summary)


def test_a_c2b_simulation_from_the_library_arrives_as_a_c2b_payment(
    service: MpesaService,
    tenant_key: tuple[str, str],
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
) -> None:
    import requests

    merchant = Merchant(gateway_server.url, tenant_key[1])
    url = f"{gateway_server.url}/api/v1/c2b"
    assert merchant.session.post(f"{url}/register-urls", json={}, timeout=30).ok
    simulation = service.process_payment(
        Transaction(amount=10000, reference="INV-9"), "c2b", {"phone_number": "0708374149"}
    )
    control = f"{emulator_control.base_url}/_emulator/c2b/payments"
    oid = simulation.originator_conversation_id  # type: ignore[union-attr]
    requests.post(f"{control}/{oid}/settle", timeout=30).raise_for_status()
    [payment] = merchant.session.get(f"{url}/payments", timeout=30).json()["data"]
    assert (payment["reference"], payment["amount"]) == ("INV-9", 10000)
