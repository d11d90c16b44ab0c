"""`reconcile` settles operations left without an outcome, once; `worker` sweeps stored
callbacks and reconciles every reconciliation.interval_seconds until SIGTERM or SIGINT."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from apg.clock import Clock
from apg.extensions import db
from apg.payments.reconciliation import Reconciler, StoredCallback
from apg.services import services
from apg.webhooks.models import CallbackOutcome, InboundCallback

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`
log = logging.getLogger(__name__)

MAX_CANDIDATES = 50  # unmatched callbacks read per unidentified push


@cli.command("reconcile")
def reconcile() -> None:
    """Settle operations left without an outcome (one pass); prints what each look did."""
    click.echo(json.dumps(reconciler().run_once()))


@cli.command("worker")
def worker() -> None:
    """Sweep stored callbacks, then reconcile, every reconciliation.interval_seconds; SIGTERM
    or SIGINT stops it after the operation in hand."""
    found = services()
    stop = threading.Event()
    job = reconciler()
    passes = {"callbacks": found.inbox.sweep, "reconcile": lambda: job.run_once(stop.is_set)}
    stop_on_signals(stop)
    Worker(passes, found.settings.reconciliation.interval_seconds, found.clock, stop).run()


class Worker:
    """Runs its passes, then waits `interval` seconds (or until stopped), until stopped."""

    def __init__(
        self,
        passes: Mapping[str, Callable[[], Any]],
        interval: float,
        clock: Clock,
        stop: threading.Event,
    ) -> None:
        self.passes = passes
        self.interval = interval
        self.clock = clock
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            log.info("worker pass: %s", json.dumps(self.run_once()))
            self.stop.wait(self.interval)

    def run_once(self) -> dict[str, Any]:
        """Every pass once; one that fails is reported and the others still run."""
        report: dict[str, Any] = {"at": self.clock.now().isoformat()}
        for name, run in self.passes.items():
            try:
                report[name] = run()
            except Exception:
                db.session.rollback()
                log.exception("worker: the %s pass failed", name)
                report[name] = "failed"
        return report


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM (a supervisor stopping us) and SIGINT set `stop`: the pass in hand finishes."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


def reconciler() -> Reconciler:
    found = services()
    return Reconciler(found.settings.reconciliation, found.payments, unmatched_callbacks)


def unmatched_callbacks(tenant_id: str, processor: str, since: datetime) -> list[StoredCallback]:
    """The tenant's stored callbacks that matched no transaction, received since `since`."""
    rows = db.session.execute(
        select(InboundCallback.id, InboundCallback.kind, InboundCallback.raw_body)
        .where(
            InboundCallback.tenant_id == tenant_id,
            InboundCallback.processor == processor,
            InboundCallback.outcome == CallbackOutcome.UNMATCHED,
            InboundCallback.received_at >= since,
        )
        .order_by(InboundCallback.id)
        .limit(MAX_CANDIDATES)
    ).all()
    return [StoredCallback(row.id, row.kind, bytes(row.raw_body)) for row in rows]
