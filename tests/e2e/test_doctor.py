"""The credential doctor against the emulator over real HTTP: each broken setting is named, with
the command that fixes it; a healthy account is all ok."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from click.testing import Result
from flask import Flask

from apg.processors.mpesa.accounts import accounts_of
from daraja_emulator import EmulatorServer
from daraja_emulator.defaults import SANDBOX_INITIATOR, SANDBOX_INITIATOR_PASSWORD
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import LiveServer

INITIATOR = {"initiator_name": SANDBOX_INITIATOR, "initiator_password": SANDBOX_INITIATOR_PASSWORD}
SHORTCODE = "174379"


def run_doctor(app: Flask, tenant_id: str, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["apg", "doctor", "--tenant", tenant_id, *args])


def diagnosis(app: Flask, tenant_id: str, *args: str) -> tuple[int, dict[str, Any]]:
    """(exit code, the one account's diagnosis with its checks by name)."""
    result = run_doctor(app, tenant_id, "--json", *args)
    [account] = json.loads(result.stdout)["accounts"]
    return result.exit_code, account | {"checks": {c["name"]: c for c in account["checks"]}}


def account_id_of(app: Flask, tenant_id: str) -> str:
    with app.app_context():
        return str(accounts_of(tenant_id)[0].id)


def results_arrive_at_once(emulator_control: EmulatorControl, result_code: int = 0) -> None:
    """The shortcode's Results (the balance inquiry's) fall due now instead of in an hour."""
    emulator_control.scenario(SHORTCODE, result_code=result_code, delay_seconds=0)


def test_a_healthy_account_is_all_ok(app: Flask, emulator_control: EmulatorControl) -> None:
    results_arrive_at_once(emulator_control)
    tenant_id, _ = make_tenant(app, "Healthy Ltd", **INITIATOR)
    code, found = diagnosis(app, tenant_id)
    assert code == 0 and found["status"] == "ok"
    checks = found["checks"]
    assert [checks[name]["status"] for name in checks] == ["ok", "ok", "ok", "ok", "skipped"]
    assert all(c["fix"] is None for c in checks.values() if c["status"] == "ok")
    assert checks["initiator"]["daraja_code"] == "0"
    assert checks["c2b_urls"]["message"].startswith("Not registered")


@pytest.mark.parametrize(
    ("confirmation_url", "status"),
    [("{base}/c2b-confirmation", "ok"), ("https://old.example.com/c2b-confirmation", "failed")],
)
def test_the_c2b_check_reads_the_registration(
    app: Flask, emulator_control: EmulatorControl, confirmation_url: str, status: str
) -> None:
    from datetime import UTC, datetime

    from apg.extensions import db
    from apg.processors.mpesa.c2b_registrations import C2BRegistration
    from apg.tenants.service import callback_token_for
    from apg.webhooks.urls import callback_url_base

    results_arrive_at_once(emulator_control)
    tenant_id, _ = make_tenant(app, "Registered Ltd", **INITIATOR)
    with app.app_context():
        public = app.extensions["apg"].settings.callbacks.public_base_url
        base = callback_url_base(public, callback_token_for(tenant_id))
        db.session.add(
            C2BRegistration(
                account_id=account_id_of(app, tenant_id),
                tenant_id=tenant_id,
                shortcode=SHORTCODE,
                response_type="Completed",
                version="v2",
                confirmation_url=confirmation_url.format(base=base),
                validation_url=confirmation_url.format(base=base),
                registered_at=datetime.now(UTC),
            )
        )
        db.session.commit()
    check = diagnosis(app, tenant_id)[1]["checks"]["c2b_urls"]
    assert check["status"] == status
    assert (check["fix"] is None) is (status == "ok")


def test_a_wrong_consumer_secret_fails_oauth_and_skips_what_needs_a_token(app: Flask) -> None:
    tenant_id, _ = make_tenant(app, "Secretless Ltd", consumer_secret="nope-secret-42", **INITIATOR)
    code, found = diagnosis(app, tenant_id)
    assert code == 1 and found["status"] == "failed"
    oauth = found["checks"]["oauth"]
    assert oauth["status"] == "failed" and "consumer key and secret" in oauth["message"]
    assert oauth["fix"].endswith(
        f"update-credentials --account {found['account_id']} --consumer-key --consumer-secret"
    )
    assert "nope-secret-42" not in json.dumps(found)  # the secret is never echoed
    for name in ("shortcode_passkey", "initiator"):
        assert found["checks"][name]["status"] == "skipped"
        assert "OAuth token" in found["checks"][name]["message"]


@pytest.mark.parametrize(
    ("account", "daraja_message", "named", "fix"),
    [
        ({"passkey": "wrong"}, "Wrong credentials", "passkey", "--passkey"),
        ({"shortcode": "600999"}, "Merchant does not exist", "shortcode", "add-account"),
    ],
)
def test_a_wrong_passkey_or_shortcode_is_named(
    app: Flask, account: dict[str, str], daraja_message: str, named: str, fix: str
) -> None:
    tenant_id, _ = make_tenant(app, "Misconfigured Ltd", **account)
    code, found = diagnosis(app, tenant_id)
    check = found["checks"]["shortcode_passkey"]
    assert code == 1 and check["status"] == "failed"
    assert check["daraja_code"] == "500.001.1001" and f'"{daraja_message}"' in check["message"]
    assert named in check["message"] and fix in check["fix"]
    assert found["checks"]["oauth"]["status"] == "ok"


@pytest.mark.parametrize(
    ("password", "scripted", "daraja_code", "words"),
    [
        ("not-the-password", 0, "2001", "--initiator-password"),
        (SANDBOX_INITIATOR_PASSWORD, 8006, "8006", "unlock"),
        (SANDBOX_INITIATOR_PASSWORD, 21, "21", "role"),
    ],
)
def test_the_initiator_is_judged_by_the_balance_result(
    app: Flask,
    emulator_control: EmulatorControl,
    password: str,
    scripted: int,
    daraja_code: str,
    words: str,
) -> None:
    results_arrive_at_once(emulator_control, scripted)
    tenant_id, _ = make_tenant(
        app, "Initiator Ltd", initiator_name=SANDBOX_INITIATOR, initiator_password=password
    )
    code, found = diagnosis(app, tenant_id)
    initiator = found["checks"]["initiator"]
    assert code == 1 and initiator["status"] == "failed"
    assert initiator["daraja_code"] == daraja_code and words in initiator["fix"]
    assert SANDBOX_INITIATOR in initiator["message"] and password not in json.dumps(found)
    assert found["checks"]["shortcode_passkey"]["status"] == "ok"


def test_a_result_that_has_not_arrived_is_pending_and_can_be_judged_later(
    app: Flask, emulator: EmulatorServer
) -> None:
    tenant_id, _ = make_tenant(app, "Patient Ltd", **INITIATOR)
    account_id = account_id_of(app, tenant_id)
    code, found = diagnosis(app, tenant_id, "--wait", "0")
    initiator = found["checks"]["initiator"]
    assert code == 0 and (found["status"], initiator["status"]) == ("pending", "pending")
    inquiry_id = initiator["fix"].split("--inquiry ")[1].split()[0]
    assert inquiry_id in initiator["message"]

    settle_balance_results(emulator)
    code, found = diagnosis(app, tenant_id, "--account", account_id, "--inquiry", inquiry_id)
    assert code == 0 and found["checks"]["initiator"]["status"] == "ok"
    assert inquiry_id in found["checks"]["initiator"]["message"]


def test_an_http_loopback_callback_base_fails_a_sandbox_account(
    app: Flask, emulator: EmulatorServer
) -> None:
    """The test gateway's callback base is http://127.0.0.1:<port>: fine for the emulator,
    unreachable for Daraja's sandbox; the initiator's Result could not arrive either."""
    sandbox = {"environment": "sandbox", "base_url": emulator.url, **INITIATOR}
    tenant_id, _ = make_tenant(app, "Sandbox Ltd", **sandbox)
    code, found = diagnosis(app, tenant_id)
    callbacks = found["checks"]["callback_urls"]
    assert code == 1 and callbacks["status"] == "failed"
    assert "MPESA_CALLBACK_BASE_URL" in callbacks["fix"] and "https" in callbacks["fix"]
    assert found["checks"]["initiator"]["status"] == "skipped"
    assert found["checks"]["oauth"]["status"] == "ok"


def test_the_report_names_the_fix_for_a_terminal(app: Flask) -> None:
    tenant_id, _ = make_tenant(app, "Readable Ltd", passkey="wrong")
    result = run_doctor(app, tenant_id)
    assert result.exit_code == 1
    assert "FAILED   shortcode_passkey" in result.stdout
    assert "fix: flask --app wsgi apg update-credentials --account mpa_" in result.stdout
    assert "1 account(s) failed" in result.stdout


def test_the_api_diagnoses_one_of_the_tenants_accounts(
    app: Flask, gateway_server: LiveServer, emulator_control: EmulatorControl
) -> None:
    results_arrive_at_once(emulator_control)
    tenant_id, api_key = make_tenant(app, "Api Ltd", **INITIATOR)
    account_id = account_id_of(app, tenant_id)
    merchant = Merchant(gateway_server.url, api_key)
    url = f"{gateway_server.url}/api/v1/accounts/{account_id}/diagnostics"
    found = merchant.session.get(url, params={"wait": 10}, timeout=30)
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["object"], body["account_id"], body["status"]) == (
        "account_diagnosis",
        account_id,
        "ok",
    )
    assert [c["name"] for c in body["checks"]] == [
        "oauth",
        "shortcode_passkey",
        "callback_urls",
        "initiator",
        "c2b_urls",
    ]


def test_the_api_does_not_block_and_hides_other_tenants_accounts(
    app: Flask, gateway_server: LiveServer
) -> None:
    tenant_id, api_key = make_tenant(app, "Owner Ltd", **INITIATOR)
    account_id = account_id_of(app, tenant_id)
    _, other_key = make_tenant(app, "Other Ltd")
    url = f"{gateway_server.url}/api/v1/accounts/{account_id}/diagnostics"
    mine = Merchant(gateway_server.url, api_key).session.get(url, timeout=30).json()
    assert mine["status"] == "pending"  # wait=0: the balance Result is not awaited
    assert "balance_inquiry=" in next(c for c in mine["checks"] if c["name"] == "initiator")["fix"]
    theirs = Merchant(gateway_server.url, other_key).session.get(url, timeout=30)
    assert theirs.status_code == 404
    too_long = Merchant(gateway_server.url, api_key).session.get(
        url, params={"wait": 11}, timeout=30
    )
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "wait"


def settle_balance_results(emulator: EmulatorServer) -> None:
    """Deliver every pending Account Balance Result now (the emulator's control API)."""
    listed = requests.get(
        f"{emulator.url}/_emulator/results", params={"product": "accountbalance"}, timeout=10
    )
    listed.raise_for_status()
    for result in listed.json():
        settled = requests.post(
            f"{emulator.url}/_emulator/results/{result['conversation_id']}/settle", timeout=30
        )
        settled.raise_for_status()
