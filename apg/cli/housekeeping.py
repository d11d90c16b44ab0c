"""`purge`: one housekeeping pass (the worker runs one each pass too)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from apg import housekeeping
from apg.services import services

cli = AppGroup("apg")


@cli.command("purge")
def purge() -> None:
    """Delete expired idempotency keys, settled raw callbacks and delivered merchant events past
    their retention (config/mpesa.yaml `retention:`); prints the counts."""
    svc = services()
    click.echo(json.dumps(housekeeping.purge(svc.settings.retention, svc.clock.now())))
