"""`reconcile` settles operations left without an outcome, once; `worker` sweeps stored
callbacks, reconciles and delivers webhooks every reconciliation.interval_seconds until SIGTERM
or SIGINT; `deliver-webhooks` is one webhook pass."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from apg.checkout.outcomes import expire_due
from apg.cli.pull import commands as pull_commands
from apg.clock import Clock
from apg.errors import APGError
from apg.extensions import db
from apg.housekeeping import Purger
from apg.logs import current_operation
from apg.notifications.worker import DeliveryPass, policy_of
from apg.payments.reconciliation import Reconciler, StoredCallback
from apg.processors.mpesa.c2b_registrations import C2BRegistration
from apg.processors.mpesa.pull_service import PullCommands
from apg.services import services
from apg.webhooks.models import CallbackOutcome, InboundCallback

cli = AppGroup("apg")  # apg.cli.init_app gathers these commands under `flask apg`
log = logging.getLogger(__name__)

MAX_CANDIDATES = 50  # unmatched callbacks read per unidentified push


@cli.command("reconcile")
@click.option(
    "--c2b/--no-c2b",
    default=False,
    help="Also recover C2B payments whose confirmation never arrived (Daraja's Pull API)",
)
def reconcile(c2b: bool) -> None:
    """Settle operations left without an outcome (one pass); prints what each look did."""
    report: dict[str, Any] = reconciler().run_once()
    if c2b:
        report = {"operations": report, "c2b": c2b_recovery(every_seconds=0)()}
    click.echo(json.dumps(report))


@cli.command("worker")
def worker() -> None:
    """Sweep stored callbacks, reconcile, deliver webhooks, expire checkout sessions (and purge
    what expired), every reconciliation.interval_seconds; SIGTERM or SIGINT stops it after the
    operation in hand."""
    found = services()
    stop = threading.Event()
    job = reconciler()
    passes: dict[str, Callable[[], Any]] = {
        "callbacks": found.inbox.sweep,
        "reconcile": lambda: job.run_once(stop.is_set),
        "c2b": c2b_recovery(found.settings.reconciliation.c2b_pull_every_seconds),
        "webhooks": webhook_delivery("worker"),
        "housekeeping": Purger(found.settings.retention, found.clock.now),
        "checkout": lambda: {"expired": expire_due(found.clock.now())},
    }
    stop_on_signals(stop)
    Worker(passes, found.settings.reconciliation.interval_seconds, found.clock, stop).run()


@cli.command("deliver-webhooks")
def deliver_webhooks() -> None:
    """One pass of merchant webhooks: fan out new events, POST every delivery due now."""
    click.echo(json.dumps(webhook_delivery("deliver-webhooks")()))


def webhook_delivery(name: str) -> DeliveryPass:
    found = services()
    policy = policy_of(found.settings.webhooks, found.settings.is_production)
    return DeliveryPass(policy, found.secrets, found.clock.now, key_mode_of, name=name)


def key_mode_of(tenant_id: str, account_id: str) -> str:
    """The key mode whose endpoints hear an account's events (test: emulator and sandbox)."""
    for processor in services().processors.all().values():
        if account_id in processor.accounts_of_mode(tenant_id, "test"):
            return "test"
    return "live"


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
            current_operation.set(None)  # a pass's lines name only the operations it is about
            try:
                report[name] = run()
            except Exception:
                db.session.rollback()
                log.exception("worker: the %s pass failed", name)
                report[name] = "failed"
        return report


class C2BRecovery:
    """At most every `every` seconds, asks Daraja's Pull API for the last `window` of each
    account whose C2B URLs are registered, and records what never arrived (API.md §4.2 step 6),
    exactly once, through the confirmation path."""

    def __init__(self, pull: PullCommands, clock: Clock, every: float, window: float) -> None:
        self.pull, self.clock = pull, clock
        self.every, self.window = timedelta(seconds=every), timedelta(seconds=window)
        self.last: datetime | None = None

    def __call__(self) -> dict[str, int]:
        now = self.clock.now()
        if self.last is not None and now - self.last < self.every:
            return {}
        self.last = now
        totals: Counter[str] = Counter()
        registered = select(C2BRegistration.tenant_id, C2BRegistration.account_id)
        for tenant_id, account_id in db.session.execute(registered).all():
            try:
                found = self.pull.recover(tenant_id, account_id, now - self.window, now)
            except (APGError, ValueError):
                db.session.rollback()
                log.warning("c2b recovery: account %s could not be pulled", account_id)
                totals["failed"] += 1
                continue
            totals.update(created=found.created, duplicate=found.duplicate)
        return dict(totals)


def c2b_recovery(every_seconds: float) -> C2BRecovery:
    found = services()
    window = found.settings.reconciliation.c2b_pull_window_seconds
    return C2BRecovery(pull_commands(), found.clock, every_seconds, window)


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
