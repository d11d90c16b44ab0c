"""Crash safety: gunicorn with several workers under a burst of payments, one worker SIGKILLed
in the middle. Every payment a client saw accepted is stored, no payment is pushed twice, the
client's retries with the same Idempotency-Key never push again, and after `reconcile` none is
left unresolved."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.payments.models import PaymentTransaction
from daraja_emulator import EmulatorServer
from tests.e2e.test_gunicorn import gunicorn_running
from tests.support.clock import ShiftableClock
from tests.support.factories import EmulatorControl, Merchant, make_tenant
from tests.support.servers import closed_port_url

BURST = 24
WORKERS, CONNECTIONS = 3, 2  # at most CONNECTIONS requests in each worker at once
SLOW_SECONDS = 1.5  # each push's answer: long enough to kill a worker while it waits


def phone(index: int) -> str:
    return f"0713200{index:03d}"


def pushes(control: EmulatorControl, index: int) -> list[dict[str, Any]]:
    msisdn = "254" + phone(index)[1:]
    url = f"{control.base_url}/_emulator/stkpush"
    return requests.get(url, params={"phone": msisdn}, timeout=10).json()  # type: ignore[no-any-return]


def reconcile(app: Flask, clock: ShiftableClock, after: timedelta) -> None:
    clock.shift(after)
    result = app.test_cli_runner().invoke(args=["apg", "reconcile"])
    assert result.exit_code == 0, result.output


def kill_a_worker_once_pushes_are_in_flight(control: EmulatorControl, log: Path) -> int:
    """SIGKILL the first booted worker once Daraja holds more slow pushes than two workers can
    carry (WORKERS x CONNECTIONS): every worker is then waiting on one, the killed one too."""
    deadline = time.monotonic() + 30
    while control.stats().get("stk_push_requests", 0) < (WORKERS - 1) * CONNECTIONS + 1:
        assert time.monotonic() < deadline, "the burst never reached the emulator"
        time.sleep(0.02)
    pid = int(re.findall(r"Booting worker with pid: (\d+)", log.read_text())[0])
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_worker_killed_mid_burst_loses_nothing_and_pushes_nothing_twice(
    app: Flask,
    database_url: str,
    emulator: EmulatorServer,
    emulator_control: EmulatorControl,
    clock: ShiftableClock,
    tmp_path: Path,
) -> None:
    tenant_id, api_key = make_tenant(app, "Crash Ltd")
    for index in range(BURST):
        msisdn = "254" + phone(index)[1:]
        emulator_control.scenario(
            msisdn, result_code=0, fault="slow", answer_delay_seconds=SLOW_SECONDS
        )
    url = closed_port_url()
    answers: dict[int, requests.Response | Exception] = {}

    def pay(index: int) -> None:
        merchant = Merchant(url, api_key)
        with merchant.session:  # closed here, not by the garbage collector (ResourceWarning)
            try:
                answers[index] = merchant.create_payment(
                    idempotency_key=f"crash-{index}",
                    phone_number=phone(index),
                    reference=f"C-{index}",
                )
            except requests.RequestException as exc:  # the killed worker's requests
                answers[index] = exc

    options = ("--threads", str(CONNECTIONS), "--worker-connections", str(CONNECTIONS))
    with gunicorn_running(
        app, database_url, emulator, tmp_path, url, *options, workers=WORKERS
    ) as log:
        threads = [threading.Thread(target=pay, args=(i,)) for i in range(BURST)]
        for thread in threads:
            thread.start()
        killed = kill_a_worker_once_pushes_are_in_flight(emulator_control, log)
        for thread in threads:
            thread.join(timeout=120)
        accepted = {i: r.json()["id"] for i, r in answers.items() if _status(r) == 201}
        lost = [i for i, r in answers.items() if _status(r) != 201]
        assert lost, f"worker {killed} was killed but every request succeeded: no crash tested"

        # The client retries what it did not see accepted, with the same keys.
        retrying = Merchant(url, api_key)
        with retrying.session:
            for index in lost:
                retrying.create_payment(
                    idempotency_key=f"crash-{index}",
                    phone_number=phone(index),
                    reference=f"C-{index}",
                )

    with app.app_context():
        stored = {
            txn.reference: txn
            for txn in db.session.execute(
                select(PaymentTransaction).where(PaymentTransaction.tenant_id == tenant_id)
            ).scalars()
        }
    # Every payment a client saw accepted is in the database, as the same payment.
    assert {i: stored[f"C-{i}"].id for i in accepted} == accepted
    # None was recorded twice, and no customer was prompted twice, retries included.
    assert len(stored) <= BURST
    assert all(len(pushes(emulator_control, i)) <= 1 for i in range(BURST))

    # M-Pesa decides every push (its callbacks find the gateway gone); reconcile asks for the
    # rest, then gives up on what it cannot learn: nothing is left pending or unknown.
    for index in range(BURST):
        for push in pushes(emulator_control, index):
            emulator_control.settle(push["checkout_request_id"])
    reconcile(app, clock, timedelta(seconds=91))  # STK Query: the decided answers
    reconcile(app, clock, timedelta(seconds=601))  # no CheckoutRequestID: review, never failed
    with app.app_context():
        left = {
            txn.reference: txn.status
            for txn in db.session.execute(
                select(PaymentTransaction).where(PaymentTransaction.tenant_id == tenant_id)
            ).scalars()
        }
    assert not {ref: s for ref, s in left.items() if s in ("pending", "processing", "unknown")}
    assert all(left[f"C-{i}"] == "completed" for i in accepted)  # the scenario pays them all


def _status(answer: requests.Response | Exception) -> int | None:
    return answer.status_code if isinstance(answer, requests.Response) else None
