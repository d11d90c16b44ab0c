"""`flask --app wsgi apg …`: create tenants and API keys; bootstrap the demo tenant."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from apg.services import services
from apg.tenants import service as tenants

apg_cli = AppGroup("apg", help="APG administration.")


def init_app(app: Flask) -> None:
    app.cli.add_command(apg_cli)


@apg_cli.command("create-tenant")
@click.option("--name", required=True)
@click.option(
    "--environment", type=click.Choice(tenants.ENVIRONMENTS), default="emulator", show_default=True
)
@click.option("--shortcode", help="Paybill or till number [default: the configured one]")
@click.option("--shortcode-kind", type=click.Choice(tenants.SHORTCODE_KINDS))
@click.option("--store-number", help="Till only: the store (HO) number that owns the passkey")
@click.option("--consumer-key")
@click.option("--consumer-secret")
@click.option("--passkey")
@click.option("--base-url", help="Any Daraja-compatible server (overrides the environment's URL)")
def create_tenant(name: str, environment: str, **options: str | None) -> None:
    """Create a tenant; prints {"tenant_id", "api_key"} (the key is shown only this once).

    Options left out come from the default tenant's settings (MPESA_* variables), which
    out of the box are the emulator's sandbox-like credentials.
    """
    defaults = services().settings.default_tenant
    pick = {k: v if v is not None else getattr(defaults, k) for k, v in options.items()}
    try:
        tenant, api_key = tenants.create_tenant(
            name, tenants.NewCredentials(environment=environment, **pick)
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"tenant_id": tenant.id, "api_key": api_key}))


@apg_cli.command("create-api-key")
@click.option("--tenant", "tenant_id", required=True)
def create_api_key(tenant_id: str) -> None:
    """Issue another API key for a tenant; prints {"api_key"}."""
    try:
        api_key = tenants.create_api_key(tenant_id)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"api_key": api_key}))


@apg_cli.command("bootstrap")
def bootstrap() -> None:
    """Create the default tenant from settings if missing, and print a fresh API key for it."""
    tenant, api_key = tenants.ensure_default_tenant()
    click.echo(json.dumps({"tenant_id": tenant.id, "api_key": api_key}))
