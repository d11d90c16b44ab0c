"""Tenants and their M-Pesa accounts: create, add, update credentials, rename, list, show; and
the demo tenant (bootstrap). Secrets come as apg.cli.secret_input says."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask.cli import AppGroup

from apg import onboarding
from apg.api.account import AccountSchema, ApiKeySchema
from apg.cli.secret_input import ASK, SECRETS, given_secrets, prompt_for, secret_option
from apg.processors.mpesa.accounts import (
    ENVIRONMENTS,
    KINDS,
    STK_KINDS,
    CredentialChanges,
    NewAccount,
)
from apg.services import services
from apg.settings import DefaultTenantSettings
from apg.tenants import service as tenants

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`
F = TypeVar("F", bound=Callable[..., Any])


def account_options(command: F) -> F:
    """The M-Pesa account options shared by create-tenant and add-account."""
    for option in reversed(
        [
            click.option(
                "--environment",
                type=click.Choice(ENVIRONMENTS),
                default="emulator",
                show_default=True,
            ),
            click.option("--shortcode", help="Paybill, till, B2C or B2B shortcode"),
            click.option(
                "--shortcode-kind", "kind", type=click.Choice(KINDS), help="Default: paybill"
            ),
            click.option("--store-number", help="Till only: the store (HO) number of the passkey"),
            secret_option("consumer_key", "Daraja app consumer key"),
            secret_option("consumer_secret", "Daraja app consumer secret"),
            secret_option("passkey", "Lipa na M-Pesa passkey (paybill and till)"),
            click.option("--initiator-name", help="API operator (B2C, B2B, balance, reversal)"),
            click.option(
                "--b2c-version",
                type=click.Choice(["v3", "v1"]),
                help="B2C payouts' API (default v3: our OriginatorConversationID, no double pay)",
            ),
            secret_option("initiator_password", "The API operator's password"),
            click.option("--base-url", help="Any Daraja-compatible server (overrides the URL)"),
        ]
    ):
        command = option(command)
    return command


def new_account(options: dict[str, Any]) -> NewAccount:
    """The account the options describe. Only emulator accounts may leave credentials out."""
    environment = options["environment"]
    values = {k: v for k, v in options.items() if k not in SECRETS and v is not None}
    values.update(given_secrets())
    if environment == "emulator":
        values = emulator_defaults() | values
    elif "shortcode" not in values:
        raise click.UsageError(f"a {environment} account needs --shortcode")
    values.setdefault("kind", "paybill")
    needed = ["consumer_key", "consumer_secret"]
    needed += ["passkey"] if values["kind"] in STK_KINDS else []
    needed += ["initiator_password"] if values.get("initiator_name") else []
    needed += [name for name, value in values.items() if value == ASK]
    prompt_for(values, needed, f"a {environment} account")
    return NewAccount(**values)


def emulator_defaults() -> dict[str, Any]:
    """The default tenant's settings when it is an emulator tenant (out of the box, the
    emulator's public keys); else the built-in ones: never a real tenant's credentials."""
    d = services().settings.default_tenant
    if d.environment != "emulator":
        d = DefaultTenantSettings()
    return {
        "shortcode": d.shortcode,
        "kind": d.shortcode_kind,
        "store_number": d.store_number,
        "consumer_key": d.consumer_key,
        "consumer_secret": d.consumer_secret,
        "passkey": d.passkey,
        "base_url": d.base_url,
    }


@cli.command("create-tenant")
@click.option("--name", required=True, help="Unique among tenants")
@account_options
def create_tenant(name: str, **options: Any) -> None:
    """Create a tenant with one M-Pesa account; prints {"tenant_id", "account_id", "api_key"}
    (the key is shown only this once). Sandbox and production accounts need every credential;
    emulator accounts may leave them out (the emulator's public keys)."""
    try:
        tenant, account, api_key = onboarding.create_merchant(
            services(), name, new_account(options)
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"tenant_id": tenant.id, "account_id": account.id, "api_key": api_key}))


@cli.command("add-account")
@click.option("--tenant", "tenant_id", required=True)
@account_options
def add_account(tenant_id: str, **options: Any) -> None:
    """Add another M-Pesa account to a tenant; prints {"account_id"}."""
    try:
        account = onboarding.add_merchant_account(services(), tenant_id, new_account(options))
    except (ValueError, LookupError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"account_id": account.id}))


@cli.command("update-credentials")
@click.option("--account", "account_id", required=True, help="An M-Pesa account id (mpa_…)")
@secret_option("consumer_key", "New consumer key")
@secret_option("consumer_secret", "New consumer secret")
@secret_option("passkey", "New Lipa na M-Pesa passkey")
@click.option("--initiator-name", help="New API operator name")
@secret_option("initiator_password", "New API operator password")
def update_credentials(account_id: str, initiator_name: str | None, **_: Any) -> None:
    """Replace an M-Pesa account's credentials: only those named change, and the next Daraja
    call uses them (a new consumer key or secret gets a new OAuth token); prints
    {"account_id", "updated"}. A variable counts only for an option named without a value."""
    secrets = given_secrets(named_only=True)
    asked = [name for name, value in secrets.items() if value == ASK]
    prompt_for(secrets, asked, "update-credentials")
    changes = CredentialChanges(initiator_name=initiator_name, **secrets)
    try:
        onboarding.update_account_credentials(services(), account_id, changes)
    except (ValueError, LookupError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"account_id": account_id, "updated": sorted(changes.given())}))


@cli.command("rename-tenant")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--name", required=True, help="Unique among tenants")
def rename_tenant(tenant_id: str, name: str) -> None:
    """Rename a tenant; prints {"tenant_id", "name"}."""
    try:
        tenant = onboarding.rename_merchant(tenant_id, name)
    except (ValueError, LookupError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"tenant_id": tenant.id, "name": tenant.name}))


@cli.command("list-tenants")
def list_tenants() -> None:
    """Every tenant, oldest first; prints {"data": [{"id", "name", "created_at"}]}."""
    shown = [
        {"id": t.id, "name": t.name, "created_at": t.created_at.isoformat()}
        for t in tenants.list_tenants()
    ]
    click.echo(json.dumps({"data": shown}))


@cli.command("show-tenant")
@click.option("--tenant", "tenant_id", required=True)
def show_tenant(tenant_id: str) -> None:
    """A tenant, its callback URL base, its M-Pesa accounts (whether each secret is set, never
    a secret) and its API keys (prefixes, never the keys); the shape of GET /api/v1/account."""
    try:
        overview = onboarding.describe_merchant(services(), tenant_id)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    shown = AccountSchema(exclude=("object", "api_key")).dump(overview)
    click.echo(json.dumps(shown | {"api_keys": ApiKeySchema(many=True).dump(overview.api_keys)}))


@cli.command("bootstrap")
def bootstrap() -> None:
    """Create the default tenant from settings if missing, and print a fresh API key for it.
    Refused when it is disabled, and in production while it is the emulator demo (the settings
    refuse that too; this is the belt to their braces)."""
    settings = services().settings
    if settings.is_production and settings.default_tenant.environment == "emulator":
        raise click.ClickException(
            "bootstrap: refused in production while the default tenant is the emulator demo"
        )
    if not settings.default_tenant.enabled:
        raise click.ClickException(
            "bootstrap: the default tenant is disabled (default_tenant.enabled)"
        )
    tenant, api_key = onboarding.ensure_default_merchant(services())
    click.echo(json.dumps({"tenant_id": tenant.id, "api_key": api_key}))
