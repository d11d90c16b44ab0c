"""API keys: issue, list, revoke, rotate (optionally keeping the old key working a while)."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask.cli import AppGroup

from apg import onboarding
from apg.api.keys import ApiKeyDetailsSchema
from apg.services import services
from apg.tenants import service as tenants

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`
KEY_ID_HELP = "The key's id (key_…, from list-api-keys), not the key"


@cli.command("create-api-key")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--mode",
    type=click.Choice(tenants.KEY_MODES),
    help="test (emulator and sandbox accounts) or live (production ones); default: live if the"
    " tenant has ever had a live key, else test",
)
def create_api_key(tenant_id: str, mode: str | None) -> None:
    """Issue another API key for a tenant; prints {"api_key"}."""
    try:
        api_key = onboarding.issue_api_key(services(), tenant_id, mode)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"api_key": api_key}))


@cli.command("list-api-keys")
@click.option("--tenant", "tenant_id", required=True)
def list_api_keys(tenant_id: str) -> None:
    """A tenant's keys, oldest first, revoked ones too; prints {"data": [{"id", "prefix",
    "mode", "created_at", "last_used_at", "revoked_at", "active"}]}: never a key nor its hash.
    last_used_at is when the key last authenticated a request, to the minute."""
    if tenants.get_tenant(tenant_id) is None:
        raise click.UsageError(f"no tenant {tenant_id}")
    schema = ApiKeyDetailsSchema(many=True, exclude=("object", "calling_key"))
    click.echo(json.dumps({"data": schema.dump(tenants.api_keys_of(tenant_id))}))


@cli.command("revoke-api-key")
@click.option("--key", "key_id", required=True, help=KEY_ID_HELP)
def revoke_api_key(key_id: str) -> None:
    """Stop a key working now; prints {"id", "revoked_at", "already_revoked"}. A revoked key
    stays as it was (already_revoked: true); a rotated key's grace period ends now."""
    try:
        key, revoked = onboarding.revoke_api_key(services(), key_id)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from exc
    revoked_at = key.revoked_at.isoformat() if key.revoked_at else None
    click.echo(json.dumps({"id": key.id, "revoked_at": revoked_at, "already_revoked": not revoked}))


@cli.command("rotate-api-key")
@click.option("--key", "key_id", required=True, help=KEY_ID_HELP)
@click.option(
    "--grace-hours",
    type=click.IntRange(0, 168),
    default=0,
    show_default=True,
    help="How long the old key keeps working, to deploy the new one (at most a week)",
)
def rotate_api_key(key_id: str, grace_hours: int) -> None:
    """Issue a key of the same tenant and mode and revoke the old one, at once or after the
    grace period; prints {"id", "api_key", "replaces", "old_key_revoked_at"}."""
    try:
        rotation = onboarding.rotate_api_key(services(), key_id, timedelta(hours=grace_hours))
    except (ValueError, LookupError) as exc:
        raise click.UsageError(str(exc)) from exc
    old_until = rotation.old.revoked_at.isoformat() if rotation.old.revoked_at else None
    shown = {"id": rotation.new.id, "api_key": rotation.api_key, "replaces": rotation.old.id}
    click.echo(json.dumps(shown | {"old_key_revoked_at": old_until}))
