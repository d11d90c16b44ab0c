"""`flask apg …` administration commands."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from apg.extensions import db
from apg.tenants.models import MpesaCredential


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
    assert set(created) == {"tenant_id", "api_key"}
    assert created["api_key"].startswith("apg_test_")
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    assert client.get("/api/v1/payments", headers=headers).status_code == 200
    with app.app_context():
        row = db.session.query(MpesaCredential).filter_by(tenant_id=created["tenant_id"]).one()
        assert (row.shortcode, row.shortcode_kind, row.environment) == (
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
