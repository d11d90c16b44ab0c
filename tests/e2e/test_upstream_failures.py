"""When Daraja refuses, fails or hangs: a clear error, a recorded payment, never a 500 or a hang."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import text

from apg.extensions import db
from tests.support.factories import SANDBOX_PASSKEY, Merchant, make_tenant
from tests.support.servers import LiveServer, ScriptedDaraja, SilentServer, closed_port_url


def merchant_for(app: Flask, server: LiveServer, **credentials: str) -> Merchant:
    return Merchant(server.url, make_tenant(app, "Upstream Ltd", **credentials)[1])


def assert_configuration_error(response: requests.Response, setting: str) -> dict[str, Any]:
    """Our configuration, not the customer's decline: its own type and code, the setting to
    check and the command that fixes it, and a failed payment that reached no one."""
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("configuration_error", "credentials_rejected")
    assert error["setting"] == setting
    assert error["account_id"].startswith("mpa_")
    assert setting in error["message"] and "update-credentials" in error["message"]
    assert "not the customer" in error["message"]
    assert error["payment"]["status"] == "failed"
    assert error["request_id"] == response.headers["X-Request-ID"]
    return error


def test_a_wrong_passkey_is_our_configuration_error_not_a_decline(
    app: Flask, gateway_server: LiveServer
) -> None:
    merchant = merchant_for(app, gateway_server, passkey="not-the-passkey")
    response = merchant.create_payment()
    error = assert_configuration_error(response, "passkey")
    assert (error["daraja_code"], error["daraja_message"]) == ("500.001.1001", "Wrong credentials")
    assert "not-the-passkey" not in response.text
    stored = merchant.get_payment(error["payment"]["id"]).json()
    assert (stored["status"], stored["result_code"], stored["result_desc"]) == (
        "failed",
        "500.001.1001",
        "Wrong credentials",
    )


def test_an_unknown_shortcode_is_our_configuration_error(
    app: Flask, gateway_server: LiveServer
) -> None:
    response = merchant_for(app, gateway_server, shortcode="600999").create_payment()
    error = assert_configuration_error(response, "shortcode")
    assert error["daraja_message"] == "Merchant does not exist"


def test_a_rejected_consumer_secret_is_our_configuration_error_and_is_not_echoed(
    app: Flask, gateway_server: LiveServer
) -> None:
    response = merchant_for(app, gateway_server, consumer_secret="nope-secret").create_payment()
    error = assert_configuration_error(response, "consumer_key/consumer_secret")
    assert error["payment"]["status_reason"] == "misconfigured: consumer_key/consumer_secret"
    assert "nope-secret" not in response.text


def test_a_busy_customer_is_a_decline_that_says_when_to_retry(
    app: Flask, gateway_server: LiveServer
) -> None:
    merchant = merchant_for(app, gateway_server)
    assert merchant.create_payment(phone_number="0711000123").status_code == 201
    response = merchant.create_payment(phone_number="0711000123")
    assert response.status_code == 424
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("payment_error", "customer_busy")
    assert error["retry_after_seconds"] == 60
    assert "prompt open" in error["message"] and "60 seconds" in error["message"]
    assert error["payment"]["status"] == "failed"
    assert error["daraja_message"].startswith("Unable to lock subscriber")


def test_daraja_unreachable_is_503_and_the_payment_failed(
    app: Flask, gateway_server: LiveServer
) -> None:
    merchant = merchant_for(app, gateway_server, base_url=closed_port_url())
    response = merchant.create_payment()
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("upstream_error", "upstream_unavailable")
    assert merchant.get_payment(error["payment"]["id"]).json()["status"] == "failed"


def test_oauth_hanging_means_the_push_was_never_sent(
    app: Flask, gateway_server: LiveServer
) -> None:
    silent = SilentServer()
    try:
        merchant = merchant_for(app, gateway_server, base_url=silent.url)
        response = merchant.create_payment()
    finally:
        silent.stop()
    assert response.status_code == 503
    assert response.json()["error"]["payment"]["status"] == "failed"


@pytest.mark.parametrize(
    ("mode", "status"),
    [("hang", 504), ("close", 502), ("html_503", 502), ("truncated", 502)],
)
def test_a_push_whose_outcome_is_unknown_is_never_failed(
    app: Flask, gateway_server: LiveServer, mode: str, status: int
) -> None:
    daraja = ScriptedDaraja(mode)
    try:
        merchant = merchant_for(app, gateway_server, base_url=daraja.url)
        response = merchant.create_payment()
    finally:
        daraja.stop()
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == "outcome_unknown"
    # Daraja may have acted on it: the payment is unknown, with the reason, never failed.
    stored = merchant.get_payment(error["payment"]["id"]).json()
    assert stored["status"] == "unknown"
    assert stored["status_reason"].startswith("outcome unknown: ")


def test_no_transaction_is_held_open_while_daraja_is_slow(
    app: Flask, gateway_server: LiveServer
) -> None:
    """A slow upstream must not pin a database connection in an open transaction."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("pg_stat_activity is PostgreSQL's")
    silent = SilentServer()
    merchant = merchant_for(app, gateway_server, base_url=silent.url)
    result: list[int] = []
    request = threading.Thread(target=lambda: result.append(merchant.create_payment().status_code))
    request.start()
    try:
        assert silent.connected.wait(10), "the gateway never called Daraja"
        with app.app_context():
            idle_in_transaction = db.session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        request.join()
        silent.stop()
    assert idle_in_transaction == 0
    assert result == [503]  # the OAuth call hung: the push itself was never sent


def processing_payment_of(app: Flask, server: LiveServer, **account: str) -> tuple[Merchant, str]:
    from tests.support.factories import make_payment

    tenant_id, key = make_tenant(app, "Query Ltd", **account)
    return Merchant(server.url, key), make_payment(app, tenant_id, checkout_request_id="ws_CO_q")


def test_a_refresh_that_cannot_reach_daraja_is_503_and_changes_nothing(
    app: Flask, gateway_server: LiveServer
) -> None:
    merchant, payment_id = processing_payment_of(app, gateway_server, base_url=closed_port_url())
    response = merchant.get_payment(payment_id, refresh="true")
    assert (response.status_code, response.json()["error"]["code"]) == (503, "upstream_unavailable")
    assert merchant.get_payment(payment_id).json()["status"] == "processing"


def test_a_refresh_daraja_refuses_is_502_with_its_code_and_changes_nothing(
    app: Flask, gateway_server: LiveServer
) -> None:
    merchant, payment_id = processing_payment_of(app, gateway_server)  # the emulator: no such id
    response = merchant.get_payment(payment_id, refresh="true")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["daraja_code"]) == (
        502,
        "daraja_rejected",
        "400.002.02",
    )
    assert merchant.get_payment(payment_id).json()["status"] == "processing"


def test_a_refresh_daraja_does_not_answer_is_504_and_changes_nothing(
    app: Flask, gateway_server: LiveServer
) -> None:
    daraja = ScriptedDaraja("hang")
    try:
        merchant, payment_id = processing_payment_of(app, gateway_server, base_url=daraja.url)
        response = merchant.get_payment(payment_id, refresh="true")
    finally:
        daraja.stop()
    assert (response.status_code, response.json()["error"]["code"]) == (504, "upstream_timeout")
    assert merchant.get_payment(payment_id).json()["status"] == "processing"


def test_the_fix_the_configuration_error_names_works(
    app: Flask, gateway_server: LiveServer
) -> None:
    """Follow the message: update-credentials with the right passkey (from stdin), pay again."""
    merchant = merchant_for(app, gateway_server, passkey="not-the-passkey")
    error = assert_configuration_error(merchant.create_payment(), "passkey")
    fixed = app.test_cli_runner().invoke(
        args=["apg", "update-credentials", "--account", error["account_id"], "--passkey", "-"],
        input=SANDBOX_PASSKEY + "\n",
    )
    assert fixed.exit_code == 0, fixed.output
    assert merchant.create_payment(phone_number="0711000125").status_code == 201
