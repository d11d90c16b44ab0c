"""Secrets are encrypted or hashed at rest, and never logged or returned."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text

from apg.crypto import SecretBox
from apg.extensions import db
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import LiveServer


def test_secret_box_round_trips_and_rotates() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = SecretBox(old).encrypt("passkey")
    assert SecretBox(f"{new},{old}").decrypt(sealed_with_old) == "passkey"
    with pytest.raises(ValueError, match="APG_ENCRYPTION_KEY"):
        SecretBox(new).decrypt(sealed_with_old)


def test_nothing_secret_is_stored_in_plaintext(app: Flask) -> None:
    _, api_key = make_tenant(
        app, "Vault", consumer_key="ck-visible", consumer_secret="cs-hidden", passkey="pk-hidden"
    )
    with app.app_context():
        dump = " ".join(
            str(row)
            for table in ("api_keys", "mpesa_credentials", "tenants")
            for row in db.session.execute(text(f"SELECT * FROM {table}"))
        )
    for secret in ("cs-hidden", "pk-hidden", "ck-visible", api_key):
        assert secret not in dump


def test_a_whole_payment_logs_no_secret(
    app: Flask,
    gateway_server: LiveServer,
    emulator_control: EmulatorControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _, api_key = make_tenant(app, "Quiet")
    merchant = Merchant(gateway_server.url, api_key)
    payment = merchant.create_payment().json()
    emulator_control.settle(payment["checkout_request_id"])
    merchant.get_payment(payment["id"], refresh="true")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "daraja POST /mpesa/stkpush/v1/processrequest -> 200" in logged
    for secret in (
        "apg-emulator-secret",
        "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
        api_key,
        "MTc0Mzc5YmZi",
    ):  # the Password's base64 prefix
        assert secret not in logged
