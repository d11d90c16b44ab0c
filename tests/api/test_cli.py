"""`flask apg …` administration commands."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from apg.extensions import db
from apg.processors.mpesa.accounts import MpesaAccount


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["apg", *args])
    return result.exit_code, result.output


def test_create_tenant_prints_a_working_key(app: Flask, client: FlaskClient) -> None:
    code, output = run(
        app,
        "create-tenant",
        "--name",
        "Shop",
        "--shortcode",
        "600100",
        "--consumer-key",
        "ck",
        "--consumer-secret",
        "cs-secret",
        "--passkey",
        "pk",
    )
    assert code == 0, output
    created = json.loads(output)
    assert set(created) == {"tenant_id", "account_id", "api_key"}
    assert created["api_key"].startswith("apg_test_")
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    assert client.get("/api/v1/payments", headers=headers).status_code == 200
    with app.app_context():
        row = db.session.get(MpesaAccount, created["account_id"])
        assert (row.tenant_id, row.shortcode, row.kind, row.environment) == (
            created["tenant_id"],
            "600100",
            "paybill",
            "emulator",
        )


def test_production_tenants_get_live_keys(app: Flask) -> None:
    code, output = run(app, "create-tenant", "--name", "Live", "--environment", "production")
    assert code == 0 and json.loads(output)["api_key"].startswith("apg_live_")


def test_create_api_key_adds_a_second_working_key(app: Flask, client: FlaskClient) -> None:
    tenant_id = json.loads(run(app, "create-tenant", "--name", "Shop")[1])["tenant_id"]
    code, output = run(app, "create-api-key", "--tenant", tenant_id)
    assert code == 0
    key = json.loads(output)["api_key"]
    assert (
        client.get("/api/v1/payments", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )


def test_bad_input_is_a_usage_error(app: Flask) -> None:
    assert run(app, "create-tenant", "--name", "X", "--shortcode", "12")[0] == 2
    assert run(app, "create-tenant", "--name", "X", "--shortcode-kind", "till")[0] == 2
    assert run(app, "create-api-key", "--tenant", "ten_missing")[0] == 2


def test_bootstrap_reuses_the_default_tenant(app: Flask) -> None:
    first = json.loads(run(app, "bootstrap")[1])
    second = json.loads(run(app, "bootstrap")[1])
    assert first["tenant_id"] == second["tenant_id"]
    assert first["api_key"] != second["api_key"]


def test_real_credentials_are_refused_under_the_development_key() -> None:
    from apg.crypto import DEV_ENCRYPTION_KEY, KEYGEN_COMMAND, SecretBox
    from apg.processors.mpesa.accounts import check
    from tests.support.factories import make_account

    dev_box = SecretBox(DEV_ENCRYPTION_KEY)
    for environment in ("sandbox", "production"):
        with pytest.raises(ValueError, match="APG_ENCRYPTION_KEY") as info:
            check(make_account(environment=environment), dev_box)
        assert KEYGEN_COMMAND in str(info.value)
    check(make_account(environment="emulator"), dev_box)  # the emulator's keys are public


def test_an_operator_resolves_a_payment_in_review_with_an_audited_note(
    app: Flask, client: FlaskClient, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    from tests.support.factories import make_payment

    in_review = make_payment(app, tenant[0], status="review")
    code, output = run(
        app, "resolve-payment", "--payment", in_review, "--status", "completed", "--note", "paid"
    )
    assert code == 0, output
    assert json.loads(output) == {"id": in_review, "status": "completed"}
    events = client.get(f"/api/v1/payments/{in_review}/events", headers=api_headers).json["data"]
    assert (events[-1]["source"], events[-1]["detail"]) == ("ops", {"note": "paid"})

    processing = make_payment(app, tenant[0], status="processing")
    for target in ("completed", "failed"):  # only review is an operator's to settle
        assert (
            run(app, "resolve-payment", "--payment", processing, "--status", target, "--note", "x")[
                0
            ]
            == 2
        )
    assert (
        run(app, "resolve-payment", "--payment", "pay_nope", "--status", "failed", "--note", "x")[0]
        == 2
    )


def test_further_keys_of_a_production_tenant_are_live(app: Flask) -> None:
    tenant_id = json.loads(
        run(app, "create-tenant", "--name", "Live", "--environment", "production")[1]
    )["tenant_id"]
    assert json.loads(run(app, "create-api-key", "--tenant", tenant_id)[1])["api_key"].startswith(
        "apg_live_"
    )
    test_tenant = json.loads(run(app, "create-tenant", "--name", "Test")[1])["tenant_id"]
    assert json.loads(run(app, "create-api-key", "--tenant", test_tenant)[1])["api_key"].startswith(
        "apg_test_"
    )
