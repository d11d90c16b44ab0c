"""`flask --app wsgi apg …`: administer merchants (tenants, M-Pesa accounts, API keys) and
payments. Every command prints one JSON object; bad input is a usage error (exit 2)."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

from apg.cli import (
    doctor,
    housekeeping,
    keys,
    merchants,
    mpesa,
    payments,
    pull,
    reconcile,
    security,
)


def init_app(app: Flask) -> None:
    group = AppGroup("apg", help="APG administration.")
    for module in (
        merchants,
        keys,
        payments,
        mpesa,
        doctor,
        reconcile,
        pull,
        security,
        housekeeping,
    ):
        for name, command in module.cli.commands.items():
            group.add_command(command, name=name)
    app.cli.add_command(group)
