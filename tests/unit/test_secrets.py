"""Secrets are encrypted or hashed at rest, and never logged or returned."""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from apg.config import load_settings
from apg.crypto import DEV_ENCRYPTION_KEY, KEYGEN_COMMAND, SecretBox
from apg.extensions import db
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import LiveServer


def test_secret_box_round_trips_and_rotates() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed_with_old = SecretBox(old).encrypt("passkey")
    assert SecretBox(f"{new},{old}").decrypt(sealed_with_old) == "passkey"
    with pytest.raises(ValueError, match="APG_ENCRYPTION_KEY"):
        SecretBox(new).decrypt(sealed_with_old)


def test_the_fallback_key_is_flagged_as_the_development_key(tmp_path: Path) -> None:
    settings = load_settings(environ={}, path=tmp_path / "absent.yaml")
    assert SecretBox(settings.security.encryption_key or "").is_development_key


@pytest.mark.parametrize(
    ("keys", "development"),
    [
        ("{dev}", True),
        ("{dev},{own}", True),  # still encrypts with the public key
        ("{own}", False),
        ("{own},{dev}", False),  # rotated away: only decrypts old development data
    ],
)
def test_is_development_key_follows_the_encrypting_key(keys: str, development: bool) -> None:
    own = Fernet.generate_key().decode()
    box = SecretBox(keys.format(dev=DEV_ENCRYPTION_KEY, own=own))
    assert box.is_development_key is development


def test_the_app_with_its_own_key_is_not_on_the_development_key(app: Flask) -> None:
    assert app.extensions["apg"].secrets.is_development_key is False


def test_keygen_command_prints_a_usable_key() -> None:
    program, *args = shlex.split(KEYGEN_COMMAND)
    assert program == "python"
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    assert not SecretBox(result.stdout.strip()).is_development_key


def test_sql_errors_carry_no_parameter_values(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection, pytest.raises(DBAPIError) as info:
        connection.execute(text("SELECT :secret FROM no_such_table"), {"secret": "pk-hidden"})
    assert "no_such_table" in str(info.value)
    assert "pk-hidden" not in str(info.value)


def test_nothing_secret_is_stored_in_plaintext(app: Flask) -> None:
    _, api_key = make_tenant(
        app, "Vault", consumer_key="ck-visible", consumer_secret="cs-hidden", passkey="pk-hidden"
    )
    with app.app_context():
        dump = " ".join(
            str(row)
            for table in ("api_keys", "mpesa_accounts", "tenants")
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
