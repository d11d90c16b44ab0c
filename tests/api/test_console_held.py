"""The ops console's answers to a held operation: confirm by query against the emulator, mark
reviewed, acknowledge a conflict — each audited and applied once; the merchant sees the
decision, not ops' own audit rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from apg.extensions import db
from apg.payments import ports
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.payments.reconcile_answers import review as reconciliation_gives_up
from tests.support.console import Console, events, flashed, status_of
from tests.support.factories import EmulatorControl, Merchant, make_payment

# --- held operations ------------------------------------------------------------------------


def test_confirm_by_query_completes_a_review_the_emulator_says_succeeded(
    app: Flask, console: Console, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    _give_up_on(app, payment["id"])
    emulator_control.settle(payment["checkout_request_id"])  # its callback finds it in review
    assert status_of(app, payment["id"]) == "review"
    html = flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert f"{payment['id']} is now completed: confirmed by query: 0" in html
    assert status_of(app, payment["id"]) == "completed"
    [operator] = events(app, payment["id"], "operator")
    assert operator.detail["action"] == "confirm_by_query"  # type: ignore[index]
    assert operator.detail["remote_addr"] == "127.0.0.1"  # type: ignore[index]
    moved = events(app, payment["id"], "transition")[-1]
    assert (moved.source, moved.to_status) == ("ops", "completed")
    assert moved.detail["note"].startswith("confirmed by query: 0 ")  # type: ignore[index]


def test_confirm_by_query_fails_a_review_the_customer_cancelled(
    app: Flask, console: Console, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    emulator_control.scenario("254708374149", result_code=1032)
    payment = merchant.create_payment().json()
    _give_up_on(app, payment["id"])
    emulator_control.settle(payment["checkout_request_id"])
    flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert status_of(app, payment["id"]) == "failed"


def test_an_undecided_or_doubtful_answer_changes_nothing_and_is_recorded(
    app: Flask, console: Console, merchant: Merchant, emulator_control: EmulatorControl
) -> None:
    payment = merchant.create_payment().json()
    _give_up_on(app, payment["id"])  # the emulator has not decided it yet
    html = flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert f"{payment['id']} is unchanged: no decision" in html
    emulator_control.settle(payment["checkout_request_id"])
    with app.app_context():  # a later report said the customer paid less than asked
        db.session.execute(
            PaymentTransaction.__table__.update()
            .where(PaymentTransaction.id == payment["id"])
            .values(paid_amount=5000)
        )
        db.session.commit()
    html = flashed(console, console.post(f"/ops/payments/{payment['id']}/confirm"))
    assert "the query says completed" in html and "5000 was reported paid" in html
    assert status_of(app, payment["id"]) == "review"
    answers = [e.detail["answer"] for e in events(app, payment["id"], "operator")]  # type: ignore[index]
    assert len(answers) == 2 and answers[0].startswith("no decision")


def test_a_request_result_product_offers_no_query(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review", transaction_type="b2c_payment")
    assert "a b2c_payment's status comes by callback" in console.page()
    html = flashed(console, console.post(f"/ops/payments/{held}/confirm"))
    assert "Nothing changed: a b2c_payment&#39;s status comes by callback" in html
    assert status_of(app, held) == "review" and not events(app, held, "operator")


def test_mark_reviewed_resolves_a_review_once_with_its_audit(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review")
    path, form = f"/ops/payments/{held}/resolve", {"status": "failed", "note": "not on statement"}
    assert "is now failed" in flashed(console, console.post(path, **form))
    assert "Nothing changed: payment" in flashed(console, console.post(path, **form))
    assert status_of(app, held) == "failed"
    [operator] = events(app, held, "operator")
    assert operator.detail == {  # type: ignore[comparison-overlap]
        "action": "resolve",
        "note": "not on statement",
        "remote_addr": "127.0.0.1",
    }
    [moved] = events(app, held, "transition")
    assert (moved.source, moved.from_status, moved.to_status) == ("ops", "review", "failed")
    assert f"<code>{held}</code>" not in console.page()


@pytest.mark.parametrize("form", [{"status": "completed"}, {"note": "x"}, {"status": "x"}])
def test_mark_reviewed_needs_a_decision_and_a_note(
    app: Flask, console: Console, tenant: tuple[str, str], form: dict[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review")
    html = flashed(console, console.post(f"/ops/payments/{held}/resolve", **form))
    assert "Nothing changed: choose completed or failed" in html
    assert status_of(app, held) == "review"


def test_a_conflict_is_listed_until_marked_reviewed_and_again_when_a_new_one_comes(
    app: Flask, console: Console, tenant: tuple[str, str]
) -> None:
    paid = make_payment(app, tenant[0], status="completed")
    _conflict(app, paid)
    assert f"<code>{paid}</code>" in console.page()
    path = f"/ops/payments/{paid}/acknowledge"
    assert "marked reviewed" in flashed(console, console.post(path, note="duplicate report"))
    assert "no conflict left" in flashed(console, console.post(path, note="again"))
    [reviewed] = events(app, paid, "reviewed")
    assert reviewed.source == "ops" and reviewed.detail == {  # type: ignore[comparison-overlap]
        "note": "duplicate report",
        "conflicts": 1,
        "remote_addr": "127.0.0.1",
    }
    assert f"<code>{paid}</code>" not in console.page()
    _conflict(app, paid)
    assert f"<code>{paid}</code>" in console.page()


def _give_up_on(app: Flask, payment_id: str) -> None:
    """Reconciliation's give-up: no decision in time, held for an operator."""
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        reconciliation_gives_up(txn, "no decision in time", datetime.now(UTC))  # type: ignore[arg-type]
        db.session.commit()


def _conflict(app: Flask, payment_id: str) -> None:
    with app.app_context():
        txn = db.session.get(PaymentTransaction, payment_id)
        outcome = ports.Outcome(PaymentStatus.FAILED, result_code="1032", result_desc="Cancelled")
        app.extensions["apg"].payments.events.apply_outcome(txn, outcome, "callback")
        db.session.commit()


def test_the_merchant_sees_the_operator_s_decision_but_not_the_ops_audit(
    app: Flask, console: Console, tenant: tuple[str, str], api_headers: dict[str, str]
) -> None:
    held = make_payment(app, tenant[0], status="review")
    form = {"status": "completed", "note": "receipt on the statement"}
    flashed(console, console.post(f"/ops/payments/{held}/resolve", **form))
    assert events(app, held, "operator")  # the audit is kept, for ops
    seen = app.test_client().get(f"/api/v1/payments/{held}/events", headers=api_headers)
    assert seen.status_code == 200
    kinds = [(e["kind"], e["to_status"]) for e in seen.json["data"]]
    assert ("transition", "completed") in kinds
    assert {kind for kind, _ in kinds} <= {"created", "transition", "enrichment", "conflict"}
    assert "127.0.0.1" not in seen.get_data(as_text=True)
