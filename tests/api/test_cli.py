"""`flask apg …` administration commands."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from apg.cli import secret_input
from apg.extensions import db
from apg.processors.mpesa.accounts import Credentials, MpesaAccount, load_credentials
from apg.tenants.models import Tenant
from apg.tenants.service import authenticate
from tests.support.clock import ShiftableClock
from tests.support.factories import SANDBOX_PASSKEY, Merchant
from tests.support.servers import LiveServer

NO_SECRET_VARIABLES: dict[str, str | None] = dict.fromkeys(secret_input.SECRETS.values())
LIVE = ("--environment", "production", "--shortcode", "600100")
LIVE_SECRETS = {"MPESA_CONSUMER_KEY": "k", "MPESA_CONSUMER_SECRET": "s", "MPESA_PASSKEY": "p"}


def invoke(app: Flask, *args: str, input: str | None = None, **env: str) -> Result:
    variables = NO_SECRET_VARIABLES | env
    return app.test_cli_runner().invoke(args=["apg", *args], input=input, env=variables)


def run(app: Flask, *args: str, **kwargs: Any) -> tuple[int, str]:
    result = invoke(app, *args, **kwargs)
    return result.exit_code, result.stdout


def created(app: Flask, *args: str, **kwargs: Any) -> dict[str, str]:
    code, output = run(app, "create-tenant", *args, **kwargs)
    assert code == 0, output
    return json.loads(output)  # type: ignore[no-any-return]


def stored(app: Flask, account_id: str) -> Credentials:
    with app.app_context():
        box = app.extensions["apg"].secrets
        return load_credentials(account_id, box, dict.fromkeys(("emulator", "production"), "x"))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_create_tenant_prints_a_working_key(app: Flask, client: FlaskClient) -> None:
    output = created(
        app,
        *("--name", "Shop", "--shortcode", "600100", "--consumer-key", "ck"),
        *("--consumer-secret", "cs-secret", "--passkey", "pk"),
    )
    assert set(output) == {"tenant_id", "account_id", "api_key"}
    assert output["api_key"].startswith("apg_test_")
    assert client.get("/api/v1/payments", headers=bearer(output["api_key"])).status_code == 200
    with app.app_context():
        row = db.session.get(MpesaAccount, output["account_id"])
        assert (row.tenant_id, row.shortcode, row.kind, row.environment) == (
            output["tenant_id"],
            "600100",
            "paybill",
            "emulator",
        )


def test_production_tenants_get_live_keys_and_secrets_from_the_environment(app: Flask) -> None:
    output = created(
        app,
        *("--name", "Live", *LIVE),
        MPESA_CONSUMER_KEY="live-ck",
        MPESA_CONSUMER_SECRET="live-cs",
        MPESA_PASSKEY="live-pk",
    )
    assert output["api_key"].startswith("apg_live_")
    creds = stored(app, output["account_id"])
    assert (creds.consumer_key, creds.consumer_secret, creds.passkey) == (
        "live-ck",
        "live-cs",
        "live-pk",
    )


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_real_environments_never_fall_back_to_the_emulator_keys(
    app: Flask, environment: str
) -> None:
    result = invoke(app, "create-tenant", "--name", "Real", "--environment", environment)
    assert result.exit_code == 2
    assert f"a {environment} account needs --shortcode" in result.stderr

    args = (
        "create-tenant",
        "--name",
        "Real",
        "--environment",
        environment,
        "--shortcode",
        "600100",
    )
    result = invoke(app, *args, "--consumer-key", "ck")
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())  # click wraps long messages
    assert "needs --consumer-secret, --passkey: set MPESA_CONSUMER_SECRET, MPESA_PASSKEY" in message
    assert "to read it from stdin" in message
    with app.app_context():
        assert db.session.query(Tenant).count() == 0


def test_a_secret_can_come_from_stdin(app: Flask) -> None:
    output = created(
        app,
        *("--name", "Piped", *LIVE, "--consumer-key", "ck", "--consumer-secret", "-"),
        input="cs-from-stdin\n",
        MPESA_PASSKEY="pk-from-env",
    )
    creds = stored(app, output["account_id"])
    assert (creds.consumer_secret, creds.passkey) == ("cs-from-stdin", "pk-from-env")
    two_from_stdin = ("--consumer-secret", "-", "--passkey", "-")
    code, _ = run(app, "create-tenant", "--name", "Two", *LIVE, *two_from_stdin, input="a\nb\n")
    assert code == 2
    assert (
        run(app, "create-tenant", "--name", "Empty", *LIVE, *two_from_stdin[:2], input="\n")[0] == 2
    )


def test_missing_secrets_are_asked_for_without_echo_on_a_terminal(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_input, "stdin_is_a_terminal", lambda: True)
    result = invoke(
        app, "create-tenant", "--name", "Asked", *LIVE, input="ck-typed\ncs-typed\npk-typed\n"
    )
    assert result.exit_code == 0, result.output
    creds = stored(app, json.loads(result.stdout)["account_id"])
    assert (creds.consumer_key, creds.consumer_secret, creds.passkey) == (
        "ck-typed",
        "cs-typed",
        "pk-typed",
    )
    assert "Consumer secret: " in result.stderr  # the prompts go to stderr, not into the JSON
    for typed in ("ck-typed", "cs-typed", "pk-typed"):
        assert typed not in result.output


def test_emulator_tenants_may_still_leave_credentials_out(app: Flask) -> None:
    creds = stored(app, created(app, "--name", "Local")["account_id"])
    assert (creds.consumer_key, creds.passkey) == ("apg-emulator-key", SANDBOX_PASSKEY)


def test_create_api_key_adds_a_second_working_key(app: Flask, client: FlaskClient) -> None:
    tenant_id = created(app, "--name", "Shop")["tenant_id"]
    code, output = run(app, "create-api-key", "--tenant", tenant_id)
    assert code == 0
    key = json.loads(output)["api_key"]
    assert client.get("/api/v1/payments", headers=bearer(key)).status_code == 200


def test_create_api_key_takes_the_mode_asked_for(app: Flask) -> None:
    """A tenant with a live key can still be given a test key (and the reverse)."""
    tenant_id = created(app, "--name", "Shop")["tenant_id"]
    for mode in ("live", "test"):
        code, output = run(app, "create-api-key", "--tenant", tenant_id, "--mode", mode)
        assert code == 0 and json.loads(output)["api_key"].startswith(f"apg_{mode}_")
    assert run(app, "create-api-key", "--tenant", tenant_id, "--mode", "prod")[0] == 2


def test_bad_input_is_a_usage_error(app: Flask) -> None:
    assert run(app, "create-tenant", "--name", "X", "--shortcode", "12")[0] == 2
    assert run(app, "create-tenant", "--name", "X", "--shortcode-kind", "till")[0] == 2
    assert run(app, "create-api-key", "--tenant", "ten_missing")[0] == 2


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("Shop", "is already named 'Shop'"),
        ("  Shop ", "is already named 'Shop'"),
        ("   ", "must not be empty"),
        ("S" * 201, "at most 200 characters"),
    ],
)
def test_tenant_names_are_unique_and_not_blank(app: Flask, second: str, message: str) -> None:
    first = created(app, "--name", " Shop ")["tenant_id"]
    result = invoke(app, "create-tenant", "--name", second)
    assert result.exit_code == 2 and message in result.stderr
    assert "Traceback" not in result.output
    listed = json.loads(run(app, "list-tenants")[1])["data"]
    assert [(t["id"], t["name"]) for t in listed] == [(first, "Shop")]


def test_rename_tenant(app: Flask) -> None:
    shop = created(app, "--name", "Shop")["tenant_id"]
    created(app, "--name", "Other")
    assert run(app, "rename-tenant", "--tenant", shop, "--name", "Other")[0] == 2
    assert json.loads(run(app, "rename-tenant", "--tenant", shop, "--name", " Shop 2 ")[1]) == {
        "tenant_id": shop,
        "name": "Shop 2",
    }
    assert run(app, "rename-tenant", "--tenant", "ten_missing", "--name", "X")[0] == 2


def test_list_tenants_oldest_first(app: Flask, clock: Any) -> None:
    first = created(app, "--name", "First")["tenant_id"]
    clock.shift(timedelta(seconds=1))
    second = created(app, "--name", "Second")["tenant_id"]
    listed = json.loads(run(app, "list-tenants")[1])["data"]
    assert [(t["id"], t["name"]) for t in listed] == [(first, "First"), (second, "Second")]
    assert set(listed[0]) == {"id", "name", "created_at"}


def test_show_tenant_shows_accounts_and_key_prefixes_but_no_secret(app: Flask) -> None:
    output = created(
        app,
        *("--name", "Shown", *LIVE, "--consumer-key", "ck-shown"),
        MPESA_CONSUMER_SECRET="cs-hidden",
        MPESA_PASSKEY="pk-hidden",
    )
    code, text = run(app, "show-tenant", "--tenant", output["tenant_id"])
    assert code == 0
    for secret in ("cs-hidden", "pk-hidden", output["api_key"], "_enc", "hash"):
        assert secret not in text
    shown = json.loads(text)
    assert (shown["id"], shown["name"]) == (output["tenant_id"], "Shown")
    assert shown["callback_url_base"].endswith(
        "/webhooks/daraja/" + tenant_token(app, output["tenant_id"])
    )
    [account] = shown["mpesa_accounts"]
    assert account | {"created_at": None} == {
        "id": output["account_id"],
        "environment": "production",
        "shortcode": "600100",
        "kind": "paybill",
        "store_number": None,
        "initiator_name": None,
        "has_passkey": True,
        "has_initiator_password": False,
        "created_at": None,
    }
    [key] = shown["api_keys"]
    assert (key["prefix"], key["mode"], key["revoked_at"]) == (output["api_key"][:13], "live", None)
    assert run(app, "show-tenant", "--tenant", "ten_missing")[0] == 2


def tenant_token(app: Flask, tenant_id: str) -> str:
    with app.app_context():
        return str(db.session.get(Tenant, tenant_id).callback_token)


def list_keys(app: Flask, tenant_id: str) -> list[dict[str, Any]]:
    code, output = run(app, "list-api-keys", "--tenant", tenant_id)
    assert code == 0, output
    return json.loads(output)["data"]  # type: ignore[no-any-return]


def test_revoking_a_key_stops_it_and_revoking_again_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    output = created(app, "--name", "Shop")
    [key] = list_keys(app, output["tenant_id"])
    shown = {"id", "prefix", "mode", "created_at", "last_used_at", "revoked_at", "active"}
    assert set(key) == shown
    first = json.loads(run(app, "revoke-api-key", "--key", key["id"])[1])
    assert (first["id"], first["already_revoked"]) == (key["id"], False)
    assert client.get("/api/v1/payments", headers=bearer(output["api_key"])).status_code == 401
    again = json.loads(run(app, "revoke-api-key", "--key", key["id"])[1])
    assert (again["revoked_at"], again["already_revoked"]) == (first["revoked_at"], True)
    [listed] = list_keys(app, output["tenant_id"])
    assert (listed["revoked_at"], listed["active"]) == (first["revoked_at"], False)
    assert run(app, "revoke-api-key", "--key", "key_missing")[0] == 2


def test_rotating_a_key_replaces_it_at_once_by_default(app: Flask, client: FlaskClient) -> None:
    output = created(app, "--name", "Live", *LIVE, **LIVE_SECRETS)
    [old] = list_keys(app, output["tenant_id"])
    rotated = json.loads(run(app, "rotate-api-key", "--key", old["id"])[1])
    assert rotated["replaces"] == old["id"] and rotated["api_key"].startswith("apg_live_")
    assert client.get("/api/v1/payments", headers=bearer(rotated["api_key"])).status_code == 200
    assert client.get("/api/v1/payments", headers=bearer(output["api_key"])).status_code == 401
    listed = list_keys(app, output["tenant_id"])
    assert [(k["id"], k["active"]) for k in listed] == [(old["id"], False), (rotated["id"], True)]
    assert run(app, "rotate-api-key", "--key", old["id"])[0] == 2  # retired keys stay retired


def test_the_api_ends_a_grace_period_by_the_apps_clock(
    app: Flask, client: FlaskClient, clock: ShiftableClock
) -> None:
    output = created(app, "--name", "Shop")
    [old] = list_keys(app, output["tenant_id"])
    rotated = json.loads(run(app, "rotate-api-key", "--key", old["id"], "--grace-hours", "1")[1])
    assert client.get("/api/v1/payments", headers=bearer(output["api_key"])).status_code == 200
    clock.shift(timedelta(hours=1, seconds=1))
    assert client.get("/api/v1/payments", headers=bearer(output["api_key"])).status_code == 401
    assert client.get("/api/v1/payments", headers=bearer(rotated["api_key"])).status_code == 200


def test_a_grace_period_keeps_the_old_key_working_until_it_ends(
    app: Flask, client: FlaskClient
) -> None:
    output = created(app, "--name", "Shop")
    [old] = list_keys(app, output["tenant_id"])
    rotated = json.loads(run(app, "rotate-api-key", "--key", old["id"], "--grace-hours", "24")[1])
    for key in (output["api_key"], rotated["api_key"]):
        assert client.get("/api/v1/payments", headers=bearer(key)).status_code == 200
    assert [k["active"] for k in list_keys(app, output["tenant_id"])] == [True, True]
    with app.app_context():
        now = app.extensions["apg"].clock.now()
        assert authenticate(output["api_key"], now + timedelta(hours=23)) is not None
        assert authenticate(output["api_key"], now + timedelta(hours=24, seconds=1)) is None
        assert authenticate(rotated["api_key"], now + timedelta(days=365)) is not None
    assert run(app, "rotate-api-key", "--key", old["id"])[0] == 2  # already retiring
    assert run(app, "rotate-api-key", "--key", old["id"], "--grace-hours", "169")[0] == 2
    revoked = json.loads(run(app, "revoke-api-key", "--key", old["id"])[1])
    assert revoked["already_revoked"] is False  # revoking ends the grace period now
    assert client.get("/api/v1/payments", headers=bearer(output["api_key"])).status_code == 401


def test_updated_credentials_are_used_by_the_next_payment(
    app: Flask, gateway_server: LiveServer
) -> None:
    output = created(app, "--name", "Shop", "--passkey", "wrong", "--consumer-secret", "wrong")
    merchant = Merchant(gateway_server.url, output["api_key"])
    assert merchant.create_payment().status_code != 201
    result = invoke(
        app,
        *("update-credentials", "--account", output["account_id"], "--passkey"),
        *("--consumer-secret", "-"),
        input="apg-emulator-secret\n",
        MPESA_PASSKEY=SANDBOX_PASSKEY,
        MPESA_CONSUMER_KEY="not-named-so-not-used",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "account_id": output["account_id"],
        "updated": ["consumer_secret", "passkey"],
    }
    creds = stored(app, output["account_id"])
    assert (creds.consumer_key, creds.passkey) == ("apg-emulator-key", SANDBOX_PASSKEY)
    assert merchant.create_payment().status_code == 201  # a new secret: a new OAuth token


def test_update_credentials_changes_only_what_is_named(app: Flask) -> None:
    account = created(app, "--name", "Shop")["account_id"]
    code, output = run(
        app,
        *("update-credentials", "--account", account, "--initiator-name", "ops"),
        *("--initiator-password", "-"),
        input="op-pass\n",
    )
    assert code == 0, output
    assert json.loads(output)["updated"] == ["initiator_name", "initiator_password"]
    creds = stored(app, account)
    assert (creds.consumer_secret, creds.initiator_name, creds.initiator_password) == (
        "apg-emulator-secret",
        "ops",
        "op-pass",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to change"),
        (("--passkey",), "needs --passkey: set MPESA_PASSKEY"),
        (("--passkey", " "), "empty passkey"),
    ],
)
def test_update_credentials_refusals(app: Flask, args: tuple[str, ...], message: str) -> None:
    account = created(app, "--name", "Shop")["account_id"]
    result = invoke(
        app, "update-credentials", "--account", account, *args, MPESA_CONSUMER_SECRET="x"
    )
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())
    assert stored(app, account).consumer_secret == "apg-emulator-secret"
    assert run(app, "update-credentials", "--account", "mpa_missing", "--passkey", "p")[0] == 2


def test_bootstrap_reuses_the_default_tenant(app: Flask) -> None:
    first = json.loads(run(app, "bootstrap")[1])
    second = json.loads(run(app, "bootstrap")[1])
    assert first["tenant_id"] == second["tenant_id"]
    assert first["api_key"] != second["api_key"]


@pytest.mark.parametrize(
    ("section", "change", "message"),
    [
        (
            "app",
            {"env": "production"},
            "bootstrap: refused in production while the default tenant is the emulator demo",
        ),
        (
            "default_tenant",
            {"enabled": False},
            "bootstrap: the default tenant is disabled (default_tenant.enabled)",
        ),
    ],
)
def test_bootstrap_is_refused_in_production_or_when_disabled(
    app: Flask, monkeypatch: pytest.MonkeyPatch, section: str, change: dict[str, Any], message: str
) -> None:
    services = app.extensions["apg"]
    changed = dataclasses.replace(getattr(services.settings, section), **change)
    monkeypatch.setattr(
        services, "settings", dataclasses.replace(services.settings, **{section: changed})
    )
    result = invoke(app, "bootstrap")
    assert (result.exit_code, result.stderr.strip()) == (1, f"Error: {message}")
    assert json.loads(run(app, "list-tenants")[1]) == {"data": []}


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
    tenant_id = created(app, "--name", "Live", *LIVE, **LIVE_SECRETS)["tenant_id"]
    assert json.loads(run(app, "create-api-key", "--tenant", tenant_id)[1])["api_key"].startswith(
        "apg_live_"
    )
    test_tenant = created(app, "--name", "Test")["tenant_id"]
    assert json.loads(run(app, "create-api-key", "--tenant", test_tenant)[1])["api_key"].startswith(
        "apg_test_"
    )


def test_reencrypt_secrets_moves_every_secret_to_the_newest_key(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rotation: prepend a new key, re-encrypt, then the old key can be dropped."""
    from cryptography.fernet import Fernet

    from apg.crypto import SecretBox

    first = created(app, "--name", "Shop")
    services = app.extensions["apg"]
    old_key = services.settings.security.encryption_key
    new_key = Fernet.generate_key().decode()
    monkeypatch.setattr(services, "secrets", SecretBox(f"{new_key},{old_key}"))
    result = invoke(app, "rotate-encryption-key")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert json.loads(result.stdout) == {"accounts": 1, "secrets": 3}
    monkeypatch.setattr(services, "secrets", SecretBox(new_key))  # the old key is gone
    credentials = stored(app, first["account_id"])
    assert (credentials.consumer_key, credentials.passkey) == ("apg-emulator-key", SANDBOX_PASSKEY)
    assert json.loads(run(app, "reencrypt-secrets")[1]) == {"accounts": 1, "secrets": 3}


def test_the_emulator_demo_tenant_can_use_every_product(app: Flask) -> None:
    """make run's tenant: paybill 174379 and B2C 600000, both with the emulator's operator."""
    tenant_id = json.loads(run(app, "bootstrap")[1])["tenant_id"]
    shown = json.loads(run(app, "show-tenant", "--tenant", tenant_id)[1])
    accounts = {(a["kind"], a["shortcode"], a["initiator_name"]) for a in shown["mpesa_accounts"]}
    assert accounts == {("paybill", "174379", "testapi"), ("b2c", "600000", "testapi")}
    assert all(a["has_initiator_password"] for a in shown["mpesa_accounts"])
