"""`flask apg pull-transactions`: recover C2B payments whose confirmation never arrived, from
Daraja's Pull Transactions API (the last 48 hours)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import click
from flask.cli import AppGroup

from apg.errors import APGError, InvalidRequestError
from apg.payments.phone import InvalidPhoneNumber, normalise_msisdn
from apg.processors.mpesa.processor import MpesaProcessor
from apg.processors.mpesa.pull_service import PullCommands
from apg.services import services

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`


def commands() -> PullCommands:
    svc = services()
    processor = svc.processors.get("mpesa")
    assert isinstance(processor, MpesaProcessor)
    return PullCommands(processor, svc.payments.events, svc.clock)


@cli.command("pull-transactions")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--account", "account_id", help="Only this paybill or till (mpa_…); else all")
@click.option(
    "--hours",
    type=click.FloatRange(0, 48, min_open=True),
    default=48,
    show_default=True,
    help="How far back to look (Daraja keeps 48 hours)",
)
@click.option("--register", is_flag=True, help="First register the shortcode for Pull (once)")
@click.option("--nominated-number", help="The MSISDN Daraja nominates for Pull (with --register)")
def pull_transactions(
    tenant_id: str,
    account_id: str | None,
    hours: float,
    register: bool,
    nominated_number: str | None,
) -> None:
    """Ask Daraja for the C2B payments of the last --hours and record each one APG does not
    have, exactly once, as its confirmation would have. Safe to run again. Prints {"tenant_id",
    "accounts": [{"account_id", "shortcode", "since", "until", "pages", "rows", "created",
    "duplicate", "unmatched", "rejected", "created_ids", "problems", "registration"?}]}; exit
    status 1 when Daraja failed (what was recorded before stays recorded)."""
    nominated = _msisdn(nominated_number) if register else None
    pull = commands()
    chosen = [account_id] if account_id else pull.accounts(tenant_id)
    if not chosen:
        raise click.UsageError(f"tenant {tenant_id} has no paybill or till")
    until = pull.clock.now()
    since = until - timedelta(hours=hours)
    reports: list[dict[str, Any]] = []
    try:
        for account in chosen:
            reports.append(_account(pull, tenant_id, account, since, until, nominated))
    except InvalidRequestError as exc:
        raise click.UsageError(exc.message) from exc
    except APGError as exc:
        click.echo(json.dumps({"tenant_id": tenant_id, "accounts": reports}))
        raise click.ClickException(exc.message) from exc
    click.echo(json.dumps({"tenant_id": tenant_id, "accounts": reports}))


def _msisdn(given: str | None) -> str:
    if not given:
        raise click.UsageError("--register needs --nominated-number (the shortcode's MSISDN)")
    try:
        return normalise_msisdn(given)
    except InvalidPhoneNumber as exc:
        raise click.UsageError(f"--nominated-number {exc}") from exc


def _account(
    pull: PullCommands,
    tenant_id: str,
    account_id: str,
    since: datetime,
    until: datetime,
    nominated_number: str | None,
) -> dict[str, Any]:
    """Register first when asked (`nominated_number`), then recover; the account's report."""
    report: dict[str, Any] = {}
    if nominated_number is not None:
        registered = pull.register(tenant_id, account_id, nominated_number)
        report["registration"] = {
            "already": registered.already,
            "response_ref_id": registered.response_ref_id,
            "description": registered.description,
        }
    return {**pull.recover(tenant_id, account_id, since, until).to_json(), **report}
