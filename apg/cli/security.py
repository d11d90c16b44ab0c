"""Security chores: rotate a tenant's callback URL token, re-encrypt secrets under a new key."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click
from flask.cli import AppGroup

from apg import onboarding
from apg.errors import APGError
from apg.extensions import db
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.processors.mpesa.c2b_service import C2BCommands
from apg.processors.mpesa.processor import MpesaProcessor
from apg.services import services
from apg.tenants import callback_tokens
from apg.webhooks.urls import callback_url_base

cli = AppGroup("apg")


@cli.command("rotate-callback-token")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--grace-hours",
    type=click.IntRange(0, 24 * 30),
    help="How long the old URLs keep working (default: security.callback_token_grace_hours)",
)
def rotate_callback_token(tenant_id: str, grace_hours: int | None) -> None:
    """Give a tenant new callback URLs (a leaked URL). Operations already sent keep using the
    old URLs, which work until the grace period ends; C2B URLs are registered again."""
    svc = services()
    hours = svc.settings.security.callback_token_grace_hours if grace_hours is None else grace_hours
    now = svc.clock.now()
    try:
        tenant = callback_tokens.rotate(tenant_id, now, timedelta(hours=hours))
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    db.session.commit()
    click.echo(
        json.dumps(
            {
                "tenant_id": tenant.id,
                "callback_url_base": callback_url_base(
                    svc.settings.callbacks.public_base_url, tenant.callback_token
                ),
                "old_urls_work_until": now.isoformat()
                if not hours
                else (now + timedelta(hours=hours)).isoformat(),
                "c2b_registrations": [_register_again(row) for row in _registrations(tenant_id)],
            }
        )
    )


def _registrations(tenant_id: str) -> list[C2BRegistration]:
    query = db.select(C2BRegistration).where(C2BRegistration.tenant_id == tenant_id)
    return list(db.session.execute(query).scalars())


def _register_again(row: C2BRegistration) -> dict[str, Any]:
    """Register the account's C2B URLs again with the new token; a refusal (production
    shortcodes register once) says what to change in the Daraja portal instead."""
    svc = services()
    processor = svc.processors.get("mpesa")
    assert isinstance(processor, MpesaProcessor)
    commands = C2BCommands(processor, svc.clock)
    account_id, tenant_id = row.account_id, row.tenant_id
    try:
        done = commands.register_urls(tenant_id, account_id, row.response_type, row.version)
    except APGError as exc:
        db.session.rollback()
        return {
            "account_id": account_id,
            "registered": False,
            "error": exc.message,
            "fix": "set the confirmation and validation URLs in the Daraja portal to the new"
            " callback_url_base + /c2b-confirmation and /c2b-validation before the old ones stop",
        }
    return {"account_id": account_id, "registered": True, "confirmation_url": done.confirmation_url}


@cli.command("rotate-encryption-key")
def rotate_encryption_key() -> None:
    """Re-encrypt every stored secret under the first key of APG_ENCRYPTION_KEY. Rotate by
    putting a new key first (new,old), running this, then removing the old key."""
    try:
        click.echo(json.dumps(onboarding.reencrypt_secrets(services())))
    except ValueError as exc:  # a secret no configured key can decrypt
        raise click.ClickException(str(exc)) from exc


# Its earlier name, kept for scripts that use it.
cli.add_command(rotate_encryption_key, name="reencrypt-secrets")
