"""GET /api/v1/account: the key's own tenant, its M-Pesa accounts and the key — never a secret."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from apg import onboarding
from apg.extensions import db
from apg.tenants.models import ApiKey, Tenant
from tests.support.factories import EmulatorControl, Merchant, make_account, make_tenant
from tests.support.servers import LiveServer

SECRETS = {"consumer_secret": "cs-never-shown", "passkey": "pk-never-shown"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_account_shows_the_tenant_its_accounts_and_the_key_used(
    app: Flask, client: FlaskClient, gateway_server: LiveServer
) -> None:
    tenant_id, api_key = make_tenant(app, "Shop Ltd", **SECRETS)
    b2c = make_account(kind="b2c", shortcode="600200", passkey=None, initiator_name="ops")
    with app.app_context():
        services = app.extensions["apg"]
        b2c_id = onboarding.add_merchant_account(services, tenant_id, b2c).id
        tenant = db.session.get(Tenant, tenant_id)
        key = db.session.query(ApiKey).filter_by(tenant_id=tenant_id).one()

    body = client.get("/api/v1/account", headers=bearer(api_key)).get_json()

    assert {k: body[k] for k in ("object", "id", "name")} == {
        "object": "account",
        "id": tenant_id,
        "name": "Shop Ltd",
    }
    assert set(body) == {
        *("object", "id", "name", "created_at", "callback_url_base", "mpesa_accounts", "api_key")
    }
    assert body["callback_url_base"] == (
        f"{gateway_server.url}/webhooks/daraja/{tenant.callback_token}"
    )
    assert body["api_key"] == {"id": key.id, "prefix": api_key[:13], "mode": "test"}
    paybill, b2c_shown = body["mpesa_accounts"]
    assert set(paybill) == {
        *("id", "environment", "shortcode", "kind", "store_number", "initiator_name"),
        *("has_passkey", "has_initiator_password", "created_at"),
    }
    assert (paybill["kind"], paybill["shortcode"], paybill["environment"]) == (
        "paybill",
        "174379",
        "emulator",
    )
    assert (paybill["has_passkey"], paybill["has_initiator_password"]) == (True, False)
    assert (b2c_shown["id"], b2c_shown["initiator_name"], b2c_shown["has_passkey"]) == (
        b2c_id,
        "ops",
        False,
    )


def test_no_secret_ever_appears_in_the_body(app: Flask, client: FlaskClient) -> None:
    tenant_id, api_key = make_tenant(app, "Vault", **SECRETS)
    with app.app_context():
        key_hash = db.session.query(ApiKey.key_hash).filter_by(tenant_id=tenant_id).scalar()

    raw = client.get("/api/v1/account", headers=bearer(api_key)).get_data(as_text=True)

    for secret in (*SECRETS.values(), "apg-emulator-key", api_key, key_hash, "_enc"):
        assert secret not in raw


def test_the_callback_url_base_is_where_daraja_posts(
    app: Flask, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    base = merchant.session.get(f"{merchant.base_url}/api/v1/account").json()["callback_url_base"]
    payment = merchant.create_payment().json()
    delivery = emulator_control.settle(payment["checkout_request_id"])
    assert (delivery["url"], delivery["status_code"]) == (f"{base}/stk", 200)


def test_each_key_sees_its_own_tenant_only(app: Flask, client: FlaskClient) -> None:
    tenant_a, key_a = make_tenant(app, "Tenant A")
    tenant_b, key_b = make_tenant(app, "Tenant B", shortcode="600300")
    with app.app_context():
        second_a = onboarding.issue_api_key(app.extensions["apg"], tenant_a)

    seen = {
        key: client.get("/api/v1/account", headers=bearer(key)).get_json()
        for key in (key_a, key_b, second_a)
    }

    assert [seen[key]["id"] for key in (key_a, key_b, second_a)] == [tenant_a, tenant_b, tenant_a]
    assert [a["shortcode"] for a in seen[key_b]["mpesa_accounts"]] == ["600300"]
    assert [a["shortcode"] for a in seen[key_a]["mpesa_accounts"]] == ["174379"]
    assert seen[second_a]["api_key"]["prefix"] == second_a[:13]  # the key used, not the first
    assert seen[second_a]["api_key"]["id"] != seen[key_a]["api_key"]["id"]


def test_without_a_working_key_it_is_a_401(app: Flask, client: FlaskClient) -> None:
    tenant_id, api_key = make_tenant(app, "Revoked")
    assert client.get("/api/v1/account").status_code == 401
    assert client.get("/api/v1/account", headers=bearer("apg_test_nope")).status_code == 401
    with app.app_context():
        [key] = db.session.query(ApiKey).filter_by(tenant_id=tenant_id).all()
        onboarding.revoke_api_key(app.extensions["apg"], key.id)
    assert client.get("/api/v1/account", headers=bearer(api_key)).status_code == 401
