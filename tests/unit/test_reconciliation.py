"""Reconciliation against a scripted processor: claims, backoff, give-up, evidence, Transaction
Status answers, and the worker loop. (Over HTTP against the emulator: tests/e2e.)"""

from __future__ import annotations

import dataclasses
import itertools
import json
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from apg.cli.reconcile import Worker, stop_on_signals
from apg.config import DEFAULT_CONFIG_PATH, load_settings
from apg.extensions import db
from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentEvent, PaymentTransaction, ProcessorReference
from apg.payments.reconcile_answers import StatusAnswerListener
from apg.payments.reconciliation import Reconciler, StoredCallback
from apg.payments.registry import ProcessorRegistry
from apg.payments.service import Payments
from apg.settings import PaymentSettings, ReconciliationSettings
from tests.support.clock import ShiftableClock
from tests.support.factories import make_payment

SETTINGS = ReconciliationSettings(
    after_seconds=90, stk_give_up_after_seconds=600, max_backoff_seconds=300, batch_size=10
)
PHONE = "254708374149"


@dataclass
class ScriptedProcessor:
    """Answers STK Queries from a script and parses callbacks given as JSON outcomes."""

    answers: list[ports.QueryResult] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    name: str = "scripted"
    method_types: dict[str, str] = field(default_factory=dict)
    callback_kinds: frozenset[str] = frozenset({"stk"})
    lifecycles: dict[str, str] = field(
        default_factory=lambda: {
            "stk_push": "prompt",
            "b2c_payment": "request_result",
            "balance_inquiry": "inquiry",
        }
    )

    def query(self, operation: ports.Operation) -> ports.QueryResult:
        self.asked.append(operation.id)
        return self.answers.pop(0) if self.answers else ports.StillPending()

    def cross_check(self, operation: ports.Operation, outcome: ports.Outcome) -> tuple[str, ...]:
        return ()

    def parse_callback(self, kind: str, raw: bytes) -> ports.ProcessorEvent:
        try:
            sent = json.loads(raw)
        except ValueError as exc:
            raise ports.CallbackRejected("not JSON") from exc
        outcome = ports.Outcome(
            PaymentStatus(sent["status"]),
            amount=sent["amount"],
            receipt="RCPT000001",
            detail={"phone_number": sent["phone"]},
        )
        return ports.ProcessorEvent(refs=(), outcome=outcome)


@dataclass
class World:
    app: Flask
    tenant_id: str
    clock: ShiftableClock
    processor: ScriptedProcessor
    payments: Payments
    stored: list[StoredCallback] = field(default_factory=list)

    def reconciler(self, settings: ReconciliationSettings = SETTINGS) -> Reconciler:
        return Reconciler(settings, self.payments, lambda *_: list(self.stored))

    def run(self, settings: ReconciliationSettings = SETTINGS) -> dict[str, int]:
        with self.app.app_context():
            return self.reconciler(settings).run_once()

    def payment(self, *, refs: bool = True, age: int = 91, **fields: Any) -> str:
        created = self.clock.now() - timedelta(seconds=age)
        checkout = {"checkout_request_id": f"ws_CO_{secrets.token_hex(8)}"} if refs else {}
        values = {"processor": "scripted", "created_at": created, **checkout, **fields}
        payment_id = make_payment(self.app, self.tenant_id, **values)
        if refs:
            with self.app.app_context():  # make_payment's reference names the mpesa processor
                db.session.query(ProcessorReference).update({"processor": "scripted"})
                db.session.commit()
        return payment_id

    def get(self, payment_id: str) -> PaymentTransaction:
        with self.app.app_context():
            txn = db.session.get(PaymentTransaction, payment_id)
            db.session.expunge(txn)
            return txn


@pytest.fixture
def world(app: Flask, tenant: tuple[str, str], clock: ShiftableClock) -> World:
    processor = ScriptedProcessor()
    registry = ProcessorRegistry()
    registry.register(processor)
    return World(app, tenant[0], clock, processor, Payments(PaymentSettings(), clock, registry))


# --- what is looked at, and when ---------------------------------------------------------------


def test_only_operations_older_than_after_seconds_are_looked_at(world: World) -> None:
    young = world.payment(age=60)
    old = world.payment(age=91)
    assert world.run() == {"waiting": 1}
    assert world.processor.asked == [old]
    assert world.get(young).reconcile_attempts == 0


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled", "timeout", "review"])
def test_settled_operations_and_stk_timeouts_are_left_alone(world: World, status: str) -> None:
    world.payment(status=status, age=3600)
    assert world.run() == {}
    assert world.processor.asked == []


def test_a_claimed_operation_is_skipped_by_a_second_reconciler_until_its_lease_ends(
    world: World,
) -> None:
    payment_id = world.payment()
    with world.app.app_context():
        first, second = world.reconciler(), world.reconciler()
        assert first.claim_next().id == payment_id  # type: ignore[union-attr]
        assert second.claim_next() is None
        world.clock.shift(timedelta(seconds=90))  # the first died holding it: the lease ends
        assert second.claim_next().id == payment_id  # type: ignore[union-attr]


def test_looks_back_off_doubling_up_to_the_cap(world: World) -> None:
    world.payment()
    patient = dataclasses.replace(SETTINGS, stk_give_up_after_seconds=10**6)
    looks = []
    for _ in range(120):  # 10 s steps over twenty minutes
        world.clock.shift(timedelta(seconds=10))
        if world.run(patient):
            looks.append(round(world.clock.offset.total_seconds()))
    gaps = [b - a for a, b in itertools.pairwise(looks)]
    assert gaps[:3] == [90, 180, 300] and set(gaps[3:]) == {300}


def test_a_batch_stops_at_batch_size(world: World) -> None:
    for _ in range(3):
        world.payment()
    assert world.run(ReconciliationSettings(batch_size=2)) == {"waiting": 2}
    assert world.run(ReconciliationSettings(batch_size=2)) == {"waiting": 1}


# --- STK Push ----------------------------------------------------------------------------------


def test_a_decided_answer_is_applied_with_source_reconcile(world: World) -> None:
    world.processor.answers.append(ports.Outcome(PaymentStatus.CANCELLED, result_code="1032"))
    payment_id = world.payment()
    assert world.run() == {"applied": 1}
    with world.app.app_context():
        [event] = db.session.query(PaymentEvent).filter_by(payment_id=payment_id).all()
        assert (event.from_status, event.to_status, event.source) == (
            "processing",
            "cancelled",
            "reconcile",
        )


@pytest.mark.parametrize(
    ("answer", "evidence"),
    [
        (ports.StillPending(), "still being processed"),
        (ports.Refused("400.002.02", "Invalid CheckoutRequestID"), "refused: 400.002.02"),
        (ports.Misconfigured("passkey"), "the account's passkey was rejected"),
        (ports.NotSent("connection refused"), "could not ask: connection refused"),
        (ports.Unknown("read timed out"), "no answer: read timed out"),
    ],
)
def test_an_undecided_answer_waits_then_goes_to_review_with_it_as_evidence(
    world: World, answer: ports.QueryResult, evidence: str
) -> None:
    payment_id = world.payment(status="unknown")
    world.processor.answers.append(answer)
    assert world.run() == {"waiting": 1}
    assert world.get(payment_id).status == "unknown"
    world.clock.shift(timedelta(seconds=600))
    world.processor.answers.append(answer)
    assert world.run() == {"review": 1}
    reason = world.get(payment_id).status_reason or ""
    assert reason.startswith("reconciliation: no outcome after 691s: STK Query:")
    assert evidence in reason and "money may have moved" in reason


def test_a_pending_push_becomes_unknown_before_anything_else(world: World) -> None:
    payment_id = world.payment(status="pending", refs=False)
    assert world.run() == {"waiting": 1}
    txn = world.get(payment_id)
    assert txn.status == "unknown" and "never recorded" in (txn.status_reason or "")


@pytest.mark.parametrize(
    ("sent", "matches"),
    [
        ({"status": "completed", "amount": 10000, "phone": PHONE}, True),
        ({"status": "completed", "amount": 20000, "phone": PHONE}, False),
        ({"status": "completed", "amount": 10000, "phone": "254700000001"}, False),
        ({"status": "failed", "amount": 10000, "phone": PHONE}, False),
    ],
)
def test_a_push_without_ids_is_matched_to_a_stored_callback_by_phone_and_amount(
    world: World, sent: dict[str, Any], matches: bool
) -> None:
    world.stored += [
        StoredCallback(7, "stk", json.dumps(sent).encode()),
        StoredCallback(8, "stk", b"x"),
    ]
    payment_id = world.payment(status="unknown", refs=False)
    assert world.run() == ({"review": 1} if matches else {"waiting": 1})
    assert world.processor.asked == []
    if matches:
        assert "unmatched callback 7 (receipt RCPT000001)" in (
            world.get(payment_id).status_reason or ""
        )


# --- inquiries and Transaction Status answers -----------------------------------------------


def test_an_unanswered_inquiry_times_out_even_from_pending(world: World) -> None:
    payment_id = world.payment(
        status="pending", refs=False, transaction_type="balance_inquiry", amount=None
    )
    assert world.run() == {"expired": 1}
    assert world.get(payment_id).status == "timeout"


def status_query(world: World, about: str, status: str, result: dict[str, Any] | None) -> str:
    data = {"request": {"original_conversation_id": about, "reconciles": about}}
    return world.payment(
        refs=False,
        age=30,
        transaction_type="transaction_status",
        amount=None,
        status=status,
        processor_data={**data, "result": result} if result is not None else data,
    )


FOUND = {
    "transaction_status": "Completed",
    "receipt_no": "UKR1ABCDEF",
    "amount": 10000,
    "finalised_time": "2026-11-26T09:00:00+00:00",
}


@pytest.mark.parametrize(
    ("found", "status", "reason"),
    [
        (FOUND, "completed", None),
        ({**FOUND, "amount": 9900}, "review", "amount 9900 does not match the 10000 requested"),
        ({**FOUND, "transaction_status": "Reversed"}, "review", "says the transaction is Reversed"),
    ],
)
def test_the_listener_applies_what_a_status_query_found_to_the_operation_it_asks_about(
    world: World, found: dict[str, Any], status: str, reason: str | None
) -> None:
    payout = world.payment(refs=False, transaction_type="b2c_payment")
    query = status_query(world, payout, "completed", found)
    with world.app.app_context():
        StatusAnswerListener(world.payments.events)(
            db.session.get(PaymentTransaction, query), "callback"
        )
        db.session.commit()
    txn = world.get(payout)
    assert txn.status == status
    assert reason is None or reason in (txn.status_reason or "")
    if status == "completed":
        assert (txn.receipt, txn.paid_amount, txn.transaction_date.hour) == ("UKR1ABCDEF", 10000, 9)


def test_not_found_with_nothing_to_ask_by_waits_out_the_give_up_window_then_review(
    world: World,
) -> None:
    not_found = {"transaction_status": None}
    payout = world.payment(refs=False, transaction_type="b2c_payment")
    query = status_query(world, payout, "failed", not_found)
    with world.app.app_context():
        db.session.query(PaymentTransaction).filter_by(id=query).update(
            {"result_code": "2032", "result_desc": "The transaction receipt number does not exist."}
        )
        db.session.commit()
    assert world.run() == {"waiting": 1}  # (and no OriginatorConversationID to ask again with)
    assert world.get(payout).status == "processing"
    world.clock.shift(timedelta(days=1))
    assert world.run() == {"review": 1}
    assert "no OriginatorConversationID" in (world.get(payout).status_reason or "")


def test_a_final_operation_is_not_moved_by_a_status_answer_it_does_not_agree_with(
    world: World,
) -> None:
    payout = world.payment(refs=False, transaction_type="b2c_payment", status="failed")
    query = status_query(world, payout, "completed", {**FOUND, "transaction_status": "Reversed"})
    with world.app.app_context():
        StatusAnswerListener(world.payments.events)(
            db.session.get(PaymentTransaction, query), "callback"
        )
    assert world.get(payout).status == "failed"


# --- the worker ----------------------------------------------------------------------------------


def test_the_worker_runs_every_pass_reports_a_failure_and_stops_when_told(app: Flask) -> None:
    stop, runs = threading.Event(), []

    def reconcile() -> dict[str, int]:
        runs.append("reconcile")
        if len(runs) == 2:
            stop.set()
        return {"applied": 1}

    def broken() -> None:
        raise RuntimeError("boom")

    worker = Worker({"callbacks": broken, "reconcile": reconcile}, 3600, ShiftableClock(), stop)
    with app.app_context():
        report = worker.run_once()
        worker.run()  # returns once stopped, never waiting out the hour
    assert (report["callbacks"], report["reconcile"]) == ("failed", {"applied": 1})
    assert runs == ["reconcile", "reconcile"]


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("signal_handlers")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_worker(signum: signal.Signals) -> None:
    stop = threading.Event()
    stop_on_signals(stop)
    signal.raise_signal(signum)
    assert stop.is_set()


def test_the_shipped_yaml_configures_reconciliation() -> None:
    settings = load_settings(environ={}, path=DEFAULT_CONFIG_PATH)
    assert settings.reconciliation == ReconciliationSettings()
    assert (settings.reconciliation.after_seconds, settings.reconciliation.batch_size) == (90, 100)
