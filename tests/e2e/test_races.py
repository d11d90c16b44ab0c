"""Real races over loopback HTTP: threads and OS processes hit the live gateway at one instant.

Each race is between separate statements (read, then write), which SQLite does not serialise
either: a check-then-insert or a read-modify-write loses on both databases, so every test runs
on both; its docstring says where it races hardest.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any

import requests
from flask import Flask
from sqlalchemy import func, select

from apg.extensions import db
from apg.payments.models import OutboxEvent, PaymentEvent, PaymentMethod, PaymentTransaction
from apg.webhooks.models import InboundCallback
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant, payment_body
from tests.support.servers import LiveServer, together

THREADS = 8
PROCESSES = 6
ROUNDS = 5  # callback-versus-refresh races per test: a lost update needs only one bad round


def post_payment_from_process(
    url: str, api_key: str, key: str, start: ProcessBarrier, results: Queue[Any]
) -> None:
    """One OS process: wait for the others, then POST the payment with `key`."""
    try:
        start.wait(timeout=60)
        response = requests.post(
            f"{url}/api/v1/payments",
            json=payment_body(),
            headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": key},
            timeout=30,
        )
        results.put((response.status_code, response.text))
    except BaseException as exc:
        results.put((0, f"process failed: {exc!r}"))
        raise


def post_from_processes(url: str, api_key: str, key: str) -> list[tuple[int, str]]:
    """PROCESSES spawned interpreters POST at once; each one's (status, body)."""
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(PROCESSES), spawn.Queue()
    workers = [
        spawn.Process(target=post_payment_from_process, args=(url, api_key, key, start, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        answers = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.exitcode is None:
                worker.kill()
        results.close()
        results.join_thread()
    assert [w.exitcode for w in workers] == [0] * PROCESSES, answers
    return answers


def assert_claimed_once(
    app: Flask, control: EmulatorControl, answers: list[tuple[int, str]]
) -> None:
    """One payment, one STK push; every answer is that payment (201) or in progress (409)."""
    assert {status for status, _ in answers} <= {201, 409}, answers
    created = {json.loads(body)["id"] for status, body in answers if status == 201}
    assert len(created) == 1, answers
    busy = {json.loads(body)["error"]["code"] for status, body in answers if status == 409}
    assert busy <= {"idempotency_request_in_progress"}
    with app.app_context():
        assert set(db.session.execute(select(PaymentTransaction.id)).scalars()) == created
    assert control.stats()["stk_push_requests"] == 1


def test_threads_claiming_one_idempotency_key_push_once(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
) -> None:
    """SQLite and PostgreSQL: a check-then-insert claim lets several threads through on both."""

    def post(_: int) -> tuple[int, str]:
        response = Merchant(gateway_server.url, tenant[1]).create_payment(
            idempotency_key="race-order-1"
        )
        return response.status_code, response.text

    assert_claimed_once(app, emulator_control, together(THREADS, post))


def test_processes_claiming_one_idempotency_key_push_once(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
) -> None:
    """SQLite and PostgreSQL: separate OS processes, each with its own connections."""
    answers = post_from_processes(gateway_server.url, tenant[1], "race-order-2")
    assert_claimed_once(app, emulator_control, answers)


def test_first_payments_from_one_phone_share_one_payment_method(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
) -> None:
    """SQLite and PostgreSQL: every thread finds no payment method, then all create it."""
    # Decided on acceptance and never called back: the subscriber lock ends at once, so the
    # emulator accepts every push and the only contention left is the gateway's.
    emulator_control.scenario("254712000001", result_code=0, delay_seconds=0, delivery="drop")

    def post(index: int) -> requests.Response:
        key = f"phone-race-{index}" if index % 2 else None  # with and without a key
        merchant = Merchant(gateway_server.url, tenant[1])
        return merchant.create_payment(idempotency_key=key, phone_number="0712000001")

    responses = together(THREADS, post)
    assert [r.status_code for r in responses] == [201] * THREADS, [r.text for r in responses]
    with app.app_context():
        [method] = db.session.execute(
            select(PaymentMethod).where(
                PaymentMethod.tenant_id == tenant[0], PaymentMethod.phone_number == "254712000001"
            )
        ).scalars()
        methods = db.session.execute(select(PaymentTransaction.payment_method_id)).scalars()
        assert list(methods) == [method.id] * THREADS


@dataclass(frozen=True)
class Decided:
    """A payment the emulator has decided (success) without sending its callback, and the two
    ways to learn the outcome: ask (refresh) or be told (the emulator POSTs its callback)."""

    gateway_url: str
    api_key: str
    control: EmulatorControl
    payment_id: str
    checkout_id: str

    def payment(self, **params: Any) -> dict[str, Any]:
        response = Merchant(self.gateway_url, self.api_key).get_payment(self.payment_id, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, _: int = 0) -> tuple[str, int | None, str]:
        merchant = Merchant(self.gateway_url, self.api_key)
        response = merchant.get_payment(self.payment_id, refresh="true")
        return "refresh", response.status_code, response.text

    def callback(self, _: int = 0) -> tuple[str, int | None, str]:
        delivered = self.control.redeliver(self.checkout_id)  # the real body, to the real URL
        return "callback", delivered["status_code"], delivered["body"]

    def refresh_or_callback(self, index: int) -> tuple[str, int | None, str]:
        return self.refresh() if index % 2 else self.callback()


def decided_without_callback(
    gateway: LiveServer, tenant: tuple[str, str], control: EmulatorControl, round_: int
) -> Decided:
    control.scenario(f"2547120002{round_:02d}", result_code=0, delivery="drop")
    created = Merchant(gateway.url, tenant[1]).create_payment(
        phone_number=f"07120002{round_:02d}", reference=f"RACE-{round_}"
    )
    assert created.status_code == 201, created.text
    payment_id, checkout_id = created.json()["id"], created.json()["checkout_request_id"]
    assert control.settle(checkout_id)["dropped"] is True  # decided; nothing POSTed
    return Decided(gateway.url, tenant[1], control, payment_id, checkout_id)


def events_of(app: Flask, payment_id: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(PaymentEvent.kind, PaymentEvent.to_status).where(
                PaymentEvent.payment_id == payment_id
            )
        )
        return [(kind, to_status) for kind, to_status in rows]


def completions_announced(app: Flask, payment_id: str) -> int:
    with app.app_context():
        return db.session.execute(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.payment_id == payment_id, OutboxEvent.type == "payment.completed")
        ).scalar_one()


def test_a_callback_racing_refreshes_completes_the_payment_once(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
) -> None:
    """SQLite and PostgreSQL: STK Query and the callback both read `processing` and both
    try to complete it; the compare-and-set lets one win and the other enrich or stand down."""
    for round_ in range(ROUNDS):
        race = decided_without_callback(gateway_server, tenant, emulator_control, round_)
        answers = together(THREADS, race.refresh_or_callback)
        assert {status for _, status, _ in answers} == {200}, answers
        [receipt] = {receipt_in(body) for kind, _, body in answers if kind == "callback"}
        payment = race.payment()
        assert (payment["status"], payment["mpesa_receipt_number"]) == ("completed", receipt)
        assert events_of(app, race.payment_id).count(("transition", "completed")) == 1
        assert completions_announced(app, race.payment_id) == 1


def receipt_in(callback_body: str) -> str:
    items = json.loads(callback_body)["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    return next(str(item["Value"]) for item in items if item["Name"] == "MpesaReceiptNumber")


def test_concurrent_callbacks_after_a_refresh_enrich_the_payment_once(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
) -> None:
    """SQLite and PostgreSQL: the query completed the payment without a receipt; then copies
    of the callback race to fill it in. One enriches, the others are duplicates. On SQLite the
    callbacks' writes mostly queue behind one another, so it is PostgreSQL that races here."""
    for round_ in range(ROUNDS):
        race = decided_without_callback(gateway_server, tenant, emulator_control, round_)
        queried = race.payment(refresh="true")  # STK Query: completed, no receipt yet
        assert (queried["status"], queried["mpesa_receipt_number"]) == ("completed", None)
        deliveries = together(THREADS, race.callback)
        assert {status for _, status, _ in deliveries} == {200}, deliveries
        assert race.payment()["mpesa_receipt_number"]
        assert events_of(app, race.payment_id).count(("enrichment", "completed")) == 1
        with app.app_context():
            outcomes = db.session.execute(
                select(InboundCallback.outcome).where(InboundCallback.payment_id == race.payment_id)
            ).scalars()
            assert Counter(outcomes) == {"enriched": 1, "duplicate": THREADS - 1}


def test_a_callback_racing_a_reconciliation_completes_the_payment_once_with_its_receipt(
    app: Flask,
    gateway_server: LiveServer,
    tenant: tuple[str, str],
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
) -> None:
    """SQLite and PostgreSQL: reconcile's STK Query and the late callback both find the payment
    `processing`; one completes it, the other enriches or stands down: one completion, one
    announcement, and the callback's receipt kept (the richest data)."""
    for round_ in range(ROUNDS):
        race = decided_without_callback(gateway_server, tenant, emulator_control, round_)
        clock.shift(timedelta(seconds=91))  # past reconciliation.after_seconds

        def reconcile_or_callback(index: int, race: Decided = race) -> tuple[str, int | None, str]:
            if index == 0:
                result = app.test_cli_runner().invoke(args=["apg", "reconcile"])
                return "reconcile", result.exit_code, result.output
            return race.callback()

        answers = together(THREADS, reconcile_or_callback)
        assert {status for kind, status, _ in answers if kind == "callback"} == {200}, answers
        assert [status for kind, status, _ in answers if kind == "reconcile"] == [0], answers
        payment = race.payment()
        assert payment["status"] == "completed" and payment["mpesa_receipt_number"]
        assert events_of(app, race.payment_id).count(("transition", "completed")) == 1
        assert completions_announced(app, race.payment_id) == 1
