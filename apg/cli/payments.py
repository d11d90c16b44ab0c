"""Payment operations: sweep or replay stored callbacks, settle a payment in review."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from apg.payments.lifecycle import PaymentStatus
from apg.services import services

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`


@cli.command("sweep-callbacks")
def sweep_callbacks() -> None:
    """Apply stored callbacks whose payment now exists; retry any that died mid-processing."""
    click.echo(json.dumps(services().inbox.sweep()))


@cli.command("replay-callback")
@click.argument("callback_id", type=int)
def replay_callback(callback_id: int) -> None:
    """Process a stored raw callback again (e.g. after a bug fix), idempotently; prints
    {"id", "was", "verdict"}."""
    try:
        was, verdict = services().inbox.replay(callback_id)
    except (LookupError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps({"id": callback_id, "was": was, "verdict": verdict}))


@cli.command("resolve-payment")
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
