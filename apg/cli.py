"""`flask --app wsgi apg …`: onboard tenants, issue keys, bootstrap the demo, sweep callbacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup

from apg import onboarding
from apg.payments.lifecycle import PaymentStatus
from apg.processors.mpesa.accounts import ENVIRONMENTS, KINDS, NewAccount
from apg.services import services

apg_cli = AppGroup("apg", help="APG administration.")


def init_app(app: Flask) -> None:
    app.cli.add_command(apg_cli)


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
            click.option("--shortcode-kind", "kind", type=click.Choice(KINDS)),
            click.option("--store-number", help="Till only: the store (HO) number of the passkey"),
            click.option("--consumer-key"),
            click.option("--consumer-secret"),
            click.option("--passkey", help="Lipa na M-Pesa passkey (paybill and till)"),
            click.option("--initiator-name", help="API operator (B2C, B2B, balance, reversal)"),
            click.option("--initiator-password"),
            click.option("--base-url", help="Any Daraja-compatible server (overrides the URL)"),
        ]
    ):
        command = option(command)
    return command


def _account(options: dict[str, str | None]) -> NewAccount:
    """Options left out come from the default tenant's settings (the MPESA_* variables)."""
    d = services().settings.default_tenant
    fallback = {
        "shortcode": d.shortcode,
        "kind": d.shortcode_kind,
        "store_number": d.store_number,
        "consumer_key": d.consumer_key,
        "consumer_secret": d.consumer_secret,
        "passkey": d.passkey,
        "base_url": d.base_url,
    }
    values = {k: v if v is not None else fallback.get(k) for k, v in options.items()}
    return NewAccount(**values)  # type: ignore[arg-type]


@apg_cli.command("create-tenant")
@click.option("--name", required=True)
@account_options
def create_tenant(name: str, **options: str | None) -> None:
    """Create a tenant with one M-Pesa account; prints {"tenant_id", "account_id", "api_key"}
    (the key is shown only this once). Options left out come from the default tenant's
    settings, which out of the box are the emulator's sandbox-like credentials."""
    try:
        tenant, account, api_key = onboarding.create_merchant(services(), name, _account(options))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"tenant_id": tenant.id, "account_id": account.id, "api_key": api_key}))


@apg_cli.command("add-account")
@click.option("--tenant", "tenant_id", required=True)
@account_options
def add_account(tenant_id: str, **options: str | None) -> None:
    """Add another M-Pesa account to a tenant; prints {"account_id"}."""
    try:
        account = onboarding.add_merchant_account(services(), tenant_id, _account(options))
    except (ValueError, LookupError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"account_id": account.id}))


@apg_cli.command("create-api-key")
@click.option("--tenant", "tenant_id", required=True)
def create_api_key(tenant_id: str) -> None:
    """Issue another API key for a tenant; prints {"api_key"}."""
    try:
        api_key = onboarding.issue_api_key(services(), tenant_id)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"api_key": api_key}))


@apg_cli.command("bootstrap")
def bootstrap() -> None:
    """Create the default tenant from settings if missing, and print a fresh API key for it."""
    tenant, api_key = onboarding.ensure_default_merchant(services())
    click.echo(json.dumps({"tenant_id": tenant.id, "api_key": api_key}))


@apg_cli.command("sweep-callbacks")
def sweep_callbacks() -> None:
    """Apply stored callbacks whose payment now exists; retry any that died mid-processing."""
    click.echo(json.dumps(services().inbox.sweep()))


@apg_cli.command("resolve-payment")
@click.option("--payment", "payment_id", required=True)
@click.option("--status", type=click.Choice(["completed", "failed"]), required=True)
@click.option("--note", required=True, help="Why: what the evidence showed (kept in the audit)")
def resolve_payment(payment_id: str, status: str, note: str) -> None:
    """An operator's decision on a payment in review; prints {"id", "status"}."""
    try:
        txn = services().payments.resolve(payment_id, PaymentStatus(status), note)
    except (LookupError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"id": txn.id, "status": txn.status}))
