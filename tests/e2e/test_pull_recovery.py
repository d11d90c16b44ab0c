"""Recovering lost C2B confirmations with Pull Transactions, over real HTTP: a payment whose
confirmation the emulator dropped is recorded once by `flask apg pull-transactions`, announced
like a confirmed one; running it again, or the confirmation arriving after all, changes nothing;
a payment whose confirmation arrived is not recorded twice. Paging against a scripted upstream."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from apg.clock import Clock
from apg.extensions import db
from apg.payments.models import OutboxEvent, PaymentEvent
from apg.processors.mpesa.accounts import Credentials, Shortcode
from apg.processors.mpesa.pull_service import PullCommands, Recovery
from tests.support.factories import EmulatorControl, Merchant

PAYER = "254708374149"


def call(merchant: Merchant, method: str, path: str, body: Any = None) -> requests.Response:
    return merchant.session.request(method, f"{merchant.base_url}{path}", json=body, timeout=30)


def pay(merchant: Merchant, control: EmulatorControl, bill_ref: str) -> dict[str, Any]:
    """Simulate through APG and settle: the emulator's view of the payment afterwards."""
    body = {"amount": 25000, "phone_number": "0708374149", "bill_ref_number": bill_ref}
    simulated = call(merchant, "POST", "/api/v1/c2b/simulate", body)
    assert simulated.status_code == 202, simulated.text
    return emulator_c2b(control, simulated.json()["originator_conversation_id"], "/settle")


def emulator_c2b(control: EmulatorControl, identifier: str, action: str) -> dict[str, Any]:
    url = f"{control.base_url}/_emulator/c2b/payments/{identifier}{action}"
    response = requests.post(url, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def c2b_payments(merchant: Merchant) -> list[dict[str, Any]]:
    response = call(merchant, "GET", "/api/v1/c2b/payments")
    return response.json()["data"]  # type: ignore[no-any-return]


def pull_transactions(app: Flask, tenant_id: str, *args: str) -> dict[str, Any]:
    """Run the command; its one account's report."""
    command = ["apg", "pull-transactions", "--tenant", tenant_id, *args]
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)["accounts"]
    return report  # type: ignore[no-any-return]


def announcements(app: Flask) -> tuple[int, int]:
    """(audit events, outbox events) across all payments."""
    with app.app_context():
        count = [
            db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (PaymentEvent, OutboxEvent)
        ]
    return count[0], count[1]


@pytest.fixture
def registered(merchant: Merchant) -> Merchant:
    response = call(merchant, "POST", "/api/v1/c2b/register-urls", {"version": "v2"})
    assert response.status_code == 200, response.text
    return merchant


def test_a_dropped_confirmation_is_recovered_once_and_again_changes_nothing(
    app: Flask,
    tenant: tuple[str, str],
    registered: Merchant,
    emulator_control: EmulatorControl,
) -> None:
    emulator_control.scenario(PAYER, result_code=0, delivery="drop")
    lost = pay(registered, emulator_control, "INV-7001")
    assert (lost["state"], lost["deliveries"][-1]["dropped"]) == ("completed", True)
    assert c2b_payments(registered) == []  # APG never heard of it

    first = pull_transactions(app, tenant[0])
    assert (first["created"], first["duplicate"], first["rows"]) == (1, 0, 1)
    [payment] = c2b_payments(registered)
    assert first["created_ids"] == [payment["id"]]
    assert (payment["status"], payment["amount"], payment["reference"]) == (
        "completed",
        25000,
        "INV-7001",
    )
    assert payment["mpesa_receipt_number"] == lost["trans_id"]
    assert (payment["phone_number"], payment["msisdn_format"]) == (PAYER, "plain")
    assert announcements(app) == (1, 1)  # created, and payment.completed for the merchant

    again = pull_transactions(app, tenant[0], "--hours", "1")
    assert (again["created"], again["duplicate"]) == (0, 1)
    emulator_c2b(emulator_control, lost["trans_id"], "/redeliver")  # it arrives after all
    assert [p["id"] for p in c2b_payments(registered)] == [payment["id"]]
    assert announcements(app) == (1, 1)


def test_a_payment_whose_confirmation_arrived_is_not_recorded_again(
    app: Flask,
    tenant: tuple[str, str],
    registered: Merchant,
    emulator_control: EmulatorControl,
) -> None:
    confirmed = pay(registered, emulator_control, "INV-7002")
    [arrived] = c2b_payments(registered)
    assert arrived["mpesa_receipt_number"] == confirmed["trans_id"]
    emulator_control.scenario(PAYER, result_code=0, delivery="drop")
    lost = pay(registered, emulator_control, "INV-7003")

    report = pull_transactions(app, tenant[0])
    assert (report["rows"], report["created"], report["duplicate"]) == (2, 1, 1)
    payments = {p["mpesa_receipt_number"]: p for p in c2b_payments(registered)}
    assert set(payments) == {confirmed["trans_id"], lost["trans_id"]}
    assert payments[confirmed["trans_id"]]["id"] == arrived["id"]
    assert announcements(app) == (2, 2)


def test_register_first_registers_the_shortcode_once(
    app: Flask, tenant: tuple[str, str], registered: Merchant
) -> None:
    args = ("--register", "--nominated-number", "0708374149")
    first = pull_transactions(app, tenant[0], *args)
    again = pull_transactions(app, tenant[0], *args)
    assert [r["registration"]["already"] for r in (first, again)] == [False, True]
    assert again["registration"]["description"] == "ShortCode already Registered"
    assert (first["rows"], first["created"], first["pages"]) == (0, 0, 1)


def test_bad_input_is_a_usage_error(app: Flask, tenant: tuple[str, str]) -> None:
    runner = app.test_cli_runner()
    base = ["apg", "pull-transactions", "--tenant", tenant[0]]
    for extra in (["--register"], ["--hours", "49"], ["--account", "mpa_nope"]):
        result = runner.invoke(args=[*base, *extra])
        assert result.exit_code == 2, (extra, result.output)
    unknown = runner.invoke(args=["apg", "pull-transactions", "--tenant", "ten_nope"])
    assert unknown.exit_code == 2 and "no paybill or till" in unknown.output


# --- paging, against a scripted upstream ---------------------------------------------------


class ScriptedDaraja:
    """Stands in for MpesaProcessor: one account, Pull answers from a list (the last repeats)."""

    name = "mpesa"

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.offsets: list[str] = []

    def account_for(
        self, tenant_id: str, transaction_type: str, preferred: Any = None, *, mode: Any = None
    ) -> str:
        return "mpa_scripted"

    def credentials(self, account_id: str) -> Credentials:
        shortcode = Shortcode.for_kind("paybill", "600000", None)
        return Credentials(account_id, "http://daraja", shortcode, "k", "s", None)

    def call(self, creds: Credentials, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.offsets.append(payload["OffSetValue"])
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class RecordingEvents:
    def __init__(self) -> None:
        self.receipts: list[str] = []

    def record_incoming(self, tenant_id: str, processor: Any, refs: Any, incoming: Any) -> Any:
        self.receipts.append(incoming.receipt)
        return "created", f"pay_{len(self.receipts)}"


def row(receipt: str, **overrides: Any) -> dict[str, Any]:
    fields = {"transactionId": receipt, "trxDate": "2024-07-10T06:15:26Z", "amount": "10.00"}
    return fields | overrides


def page(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"ResponseCode": "1000", "ResponseMessage": "Success", "Response": [list(rows)]}


def recover(app: Flask, daraja: ScriptedDaraja, events: RecordingEvents) -> Recovery:
    commands = PullCommands(daraja, events, Clock())  # type: ignore[arg-type]
    with app.app_context():
        now = Clock().now()
        return commands.recover("ten_x", None, now - timedelta(hours=1), now)


def test_pages_move_by_the_rows_received_and_a_bad_row_is_counted_not_recorded(
    app: Flask,
) -> None:
    daraja = ScriptedDaraja(
        page(row("SGA0000001"), row("SGA0000002", amount="x")),
        page(row("SGA0000003")),
        {"ResponseCode": "1001", "Response": [[]]},
    )
    events = RecordingEvents()
    done = recover(app, daraja, events)
    assert daraja.offsets == ["0", "2", "3"]
    assert events.receipts == ["SGA0000001", "SGA0000003"]
    assert (done.pages, done.rows, done.created, done.rejected) == (3, 3, 2, 1)
    assert done.problems == ["row 1: amount 'x' is not a number"]


def test_an_upstream_that_ignores_the_offset_is_read_once(app: Flask) -> None:
    daraja = ScriptedDaraja(page(row("SGA0000001"), row("SGA0000002")))  # every time
    events = RecordingEvents()
    done = recover(app, daraja, events)
    assert daraja.offsets == ["0", "2"]
    assert events.receipts == ["SGA0000001", "SGA0000002"]
    assert (done.pages, done.rows, done.created) == (2, 2, 2)


def test_reconcile_and_the_worker_recover_a_lost_confirmation(
    app: Flask,
    tenant: tuple[str, str],
    registered: Merchant,
    emulator_control: EmulatorControl,
) -> None:
    """`reconcile --c2b` pulls every registered account at once; the worker's pass too, at
    most every reconciliation.c2b_pull_every_seconds."""
    emulator_control.scenario(PAYER, result_code=0, delivery="drop")
    pay(registered, emulator_control, "INV-7101")
    done = app.test_cli_runner().invoke(args=["apg", "reconcile", "--c2b"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["c2b"] == {"created": 1, "duplicate": 0}
    assert [p["reference"] for p in c2b_payments(registered)] == ["INV-7101"]

    from apg.cli.reconcile import c2b_recovery

    with app.app_context():
        worker_pass = c2b_recovery(every_seconds=900)
        assert worker_pass() == {"created": 0, "duplicate": 1}
        assert worker_pass() == {}  # not again before c2b_pull_every_seconds
