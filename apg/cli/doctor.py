"""`flask apg doctor`: check a tenant's M-Pesa accounts against Daraja, step by step, and say
in plain words what is wrong and which setting and command fix it."""

from __future__ import annotations

import json
import textwrap

import click
from flask.cli import AppGroup

from apg.api.diagnostics import AccountDiagnosisSchema
from apg.diagnostics import DEFAULT_WAIT_SECONDS, diagnose
from apg.errors import APGError
from apg.processors.mpesa.doctor import AccountDiagnosis, Check
from apg.services import services

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`
WIDTH = 100
LABELS = {"ok": "ok", "failed": "FAILED", "warning": "warning", "skipped": "skipped"}


@cli.command("doctor")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--account", "account_id", help="Only this M-Pesa account (mpa_…)")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(0, 600),
    default=DEFAULT_WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for the Result of the balance inquiry that tests the initiator",
)
@click.option(
    "--inquiry",
    "balance_inquiry",
    help="Judge this earlier balance inquiry (needs --account) instead of sending a new one",
)
@click.option("--json", "as_json", is_flag=True, help="JSON (the API's shape), not a report")
def doctor(
    tenant_id: str,
    account_id: str | None,
    wait_seconds: float,
    balance_inquiry: str | None,
    as_json: bool,
) -> None:
    """Check each M-Pesa account of a tenant: OAuth (consumer key and secret), shortcode and
    passkey (an STK Query for a payment that does not exist), callback URLs, the initiator (an
    Account Balance inquiry: a real Daraja call that moves no money) and C2B URLs. Exit status
    1 when a check failed, else 0."""
    try:
        found = diagnose(
            services(),
            tenant_id,
            account_id,
            wait_seconds=wait_seconds,
            balance_inquiry=balance_inquiry,
        )
    except (LookupError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    except APGError as exc:  # an account or inquiry that is not the tenant's
        raise click.UsageError(exc.message) from exc
    if as_json:
        shown = AccountDiagnosisSchema(many=True).dump(found)
        click.echo(json.dumps({"tenant_id": tenant_id, "accounts": shown}))
    else:
        click.echo(report(tenant_id, found))
    if any(diagnosis.status == "failed" for diagnosis in found):
        click.get_current_context().exit(1)


def report(tenant_id: str, found: list[AccountDiagnosis]) -> str:
    """The diagnoses as text for a terminal: one block per account, one line per check."""
    lines = [f"Tenant {tenant_id}: {len(found)} M-Pesa account(s)"]
    for diagnosis in found:
        lines += ["", _heading(diagnosis), *(line for c in diagnosis.checks for line in _check(c))]
    failed = sum(diagnosis.status == "failed" for diagnosis in found)
    if failed:
        lines += ["", f"{failed} account(s) failed: apply each fix, then run the doctor again."]
    return "\n".join(lines)


def _heading(diagnosis: AccountDiagnosis) -> str:
    what = f"{diagnosis.environment} {diagnosis.kind} {diagnosis.shortcode}"
    return f"{diagnosis.account_id} ({what}): {diagnosis.status.upper()}"


def _check(check: Check) -> list[str]:
    label = f"  {LABELS.get(check.status, check.status):<8} {check.name:<18} "
    indent = " " * len(label)
    lines = textwrap.wrap(
        check.message, WIDTH, initial_indent=label, subsequent_indent=indent, break_on_hyphens=False
    )
    # Unwrapped: the fix usually ends in a command to copy and paste.
    return lines + ([f"{indent}fix: {check.fix}"] if check.fix else [])
