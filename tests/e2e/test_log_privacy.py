"""A slice of the gateway's life under gunicorn, everything logged at DEBUG: no line keeps a full
phone number, a tenant's credential, an API key or an OAuth token."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.processors.mpesa.tokens.database import OAuthToken
from daraja_emulator import EmulatorServer
from tests.e2e.test_gunicorn import gunicorn_running, lines_once_logged
from tests.support.factories import SANDBOX_PASSKEY, EmulatorControl, Merchant, make_tenant
from tests.support.servers import closed_port_url

PHONE = "0708374149"
FULL_PHONE = re.compile(r"(?<![\w+])(?:\+?254|0)708374149(?!\w)")
CONSUMER_SECRET = "apg-emulator-secret"
WRONG_PASSKEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
INITIATOR = {"initiator_name": "testapi", "initiator_password": "Safaricom999!*!"}


def oauth_tokens(app: Flask) -> list[str]:
    """The OAuth tokens the gateway minted, as Daraja issued them."""
    with app.app_context():
        services = app.extensions["apg"]
        stored = db.session.execute(select(OAuthToken.value_enc)).scalars().all()
        return [services.secrets.decrypt(value) for value in stored if value]


def test_a_debug_log_of_payments_auth_failures_and_config_errors_keeps_no_secret_or_phone(
    app: Flask,
    database_url: str,
    emulator: EmulatorServer,
    emulator_control: EmulatorControl,
    tmp_path: Path,
) -> None:
    _, api_key = make_tenant(app, "Private Ltd", **INITIATOR)
    _, misconfigured_key = make_tenant(app, "Misconfigured Ltd", passkey=WRONG_PASSKEY)
    emulator_control.reset()
    url = closed_port_url()
    options = ("--log-level", "debug")
    with gunicorn_running(
        app, database_url, emulator, tmp_path, url, *options, workers=1, log_level="DEBUG"
    ) as output:
        merchant = Merchant(url, api_key)
        created = merchant.create_payment(phone_number=PHONE, reference="P-1")
        assert created.status_code == 201, created.text
        settled = emulator_control.settle(created.json()["checkout_request_id"])
        assert settled["status_code"] == 200, settled
        fetched = merchant.get_payment(created.json()["id"])
        assert fetched.json()["status"] == "completed", fetched.text

        wrong_key = requests.get(
            f"{url}/api/v1/payments", headers={"Authorization": "Bearer apg_wrong"}, timeout=10
        )
        assert wrong_key.status_code == 401
        basic = requests.get(f"{url}/api/v1/payments", auth=(api_key, ""), timeout=10)
        assert basic.status_code == 401
        # the request line of an access log line: a phone in a query string
        requests.get(f"{url}/api/v1/payments?phone_number=254708374149", timeout=10)
        refused = Merchant(url, misconfigured_key).create_payment(phone_number=PHONE)
        assert refused.json()["error"]["code"] == "credentials_rejected", refused.text

        lines = lines_once_logged(output, f"req={refused.headers['X-Request-ID']}")

    secrets = {
        "consumer secret": CONSUMER_SECRET,
        "passkey": SANDBOX_PASSKEY,
        "wrong passkey": WRONG_PASSKEY,
        "initiator password": INITIATOR["initiator_password"],
        "API key": api_key,
        "other API key": misconfigured_key,
        **{f"OAuth token {i}": token for i, token in enumerate(oauth_tokens(app))},
    }
    assert len(secrets) > 6  # at least one OAuth token was minted
    assert len(lines) > 20, lines  # DEBUG: the app's, urllib3's and gunicorn's lines
    leaks = {name: line for line in lines for name, value in secrets.items() if value in line}
    assert not leaks, leaks
    # Standing alone: the emulator's checkout ids end in the payer's number (ws_CO_…0708374149)
    phones = [line for line in lines if FULL_PHONE.search(line)]
    assert not phones, phones
    assert [line for line in lines if "GET /api/v1/payments?phone_number=*********149" in line]
