"""M-Pesa helpers: `flask apg security-credential` encrypts an initiator password for Daraja."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from apg.cli import secret_input
from apg.processors.mpesa import security

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`


@cli.command("security-credential")
@click.option(
    "--environment",
    required=True,
    type=click.Choice(tuple(security.CERTIFICATES)),
    help="Whose certificate to encrypt to",
)
def security_credential(environment: str) -> None:
    """Print the SecurityCredential (base64, alone on stdout) for an initiator password read
    from a hidden prompt in a terminal, else from one line of stdin. Never an option: the
    command line stays in shell history and shows in ps."""
    try:
        credential = security.security_credential(read_password(), environment)
    except ValueError as exc:  # never echoes the password: cryptography's messages do not
        raise click.UsageError(str(exc)) from exc
    click.echo(credential)


def read_password() -> str:
    """A terminal asks twice (a typo would fail later, at Daraja, and repeated failures lock
    the operator); a pipe gives one line, its newline not part of the password."""
    if secret_input.stdin_is_a_terminal():
        return str(
            click.prompt("Initiator password", hide_input=True, confirmation_prompt=True, err=True)
        )
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.UsageError("stdin gave no initiator password")
    return password
