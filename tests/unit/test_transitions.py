"""The state machine: only allowed moves, each applied at most once, with an audit row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select, update

from apg.extensions import db
from apg.payments.announcements import ANNOUNCED
from apg.payments.lifecycle import ASYNC_REQUEST, STK_PUSH, STK_PUSH_OPERATOR, PaymentStatus
from apg.payments.models import OutboxEvent, PaymentEvent, PaymentTransaction
from apg.payments.transitions import enrich, record_conflict, transition
from tests.support.factories import make_payment

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ANSWERS = {"completed", "failed", "cancelled", "timeout", "review"}
ALLOWED = {
    ("pending", "processing"),
    ("pending", "failed"),
    ("pending", "unknown"),
    *{("unknown", s) for s in ANSWERS | {"processing"}},
    *{("processing", s) for s in ANSWERS},
    ("timeout", "completed"),
    ("timeout", "review"),
    ("completed", "review"),
    ("completed", "reversed"),  # a reversal Daraja confirmed
}
# B2C, B2B, balance, status, reversal: acknowledged now, a Result (or a queue timeout) later.
ASYNC_ALLOWED = {
    ("pending", "processing"),
    ("pending", "failed"),
    ("pending", "unknown"),
    *{("unknown", s) for s in ("processing", "completed", "failed", "timeout", "review")},
    *{("processing", s) for s in ("completed", "failed", "timeout", "review")},
    *{("timeout", s) for s in ("completed", "failed", "review")},  # a late Result still counts
    ("completed", "review"),
}
OPERATOR_ONLY = {("review", "completed"), ("review", "failed")}


def test_the_stk_push_table_is_exactly_the_documented_one() -> None:
    table = {(a.value, b.value) for a, targets in STK_PUSH.items() for b in targets}
    assert table == ALLOWED
    operator = {(a.value, b.value) for a, targets in STK_PUSH_OPERATOR.items() for b in targets}
    assert operator == OPERATOR_ONLY


def test_the_async_request_table_is_exactly_the_documented_one() -> None:
    assert {(a.value, b.value) for a, targets in ASYNC_REQUEST.items() for b in targets} == (
        ASYNC_ALLOWED
    )


@pytest.mark.parametrize(("start", "target"), list(itertools.product(PaymentStatus, repeat=2)))
def test_transition_obeys_the_table(
    app: Flask, tenant: tuple[str, str], start: PaymentStatus, target: PaymentStatus
) -> None:
    payment_id = make_payment(app, tenant[0], status=start.value)
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        moved = transition(payment, target, source="test", now=NOW)
        db.session.commit()
        events = db.session.execute(select(PaymentEvent)).scalars().all()
        outbox = db.session.execute(select(OutboxEvent)).scalars().all()
        expected = (start.value, target.value) in ALLOWED
        assert moved is expected
        assert payment.status == (target if expected else start).value
        assert len(events) == int(expected)
        assert len(outbox) == int(expected and target in ANNOUNCED)  # not processing, unknown
        if expected:
            assert (events[0].from_status, events[0].to_status) == (start.value, target.value)
            assert (payment.finalized_at is not None) is target.is_final
        if outbox:
            assert (outbox[0].type, outbox[0].payload["status"]) == (f"payment.{target}", target)


def test_a_stale_writer_loses_the_compare_and_set(app: Flask, tenant: tuple[str, str]) -> None:
    payment_id = make_payment(app, tenant[0], status="processing")
    with app.app_context():
        stale = db.session.get(PaymentTransaction, payment_id)
        with db.engine.begin() as other:  # another worker completes it meanwhile
            other.execute(
                update(PaymentTransaction)
                .where(PaymentTransaction.id == payment_id)
                .values(status="completed")
            )
        assert transition(stale, PaymentStatus.FAILED, source="test", now=NOW) is False
        db.session.commit()
        assert stale.status == "completed"  # refreshed, not overwritten
        assert db.session.execute(select(PaymentEvent)).first() is None


def test_a_writer_that_loses_the_race_rechecks_against_the_fresh_status(
    app: Flask, tenant: tuple[str, str]
) -> None:
    """A late success must not be dropped because our copy still said `processing`."""
    payment_id = make_payment(app, tenant[0], status="processing")
    with app.app_context():
        stale = db.session.get(PaymentTransaction, payment_id)
        with db.engine.begin() as other:  # a 1037 timeout notice landed meanwhile
            other.execute(
                update(PaymentTransaction)
                .where(PaymentTransaction.id == payment_id)
                .values(status="timeout")
            )
        assert transition(stale, PaymentStatus.COMPLETED, source="test", now=NOW) is True
        db.session.commit()
        assert stale.status == "completed"
        [event] = db.session.execute(select(PaymentEvent)).scalars()
        assert (event.from_status, event.to_status) == ("timeout", "completed")


@pytest.mark.parametrize(("start", "target"), sorted(OPERATOR_ONLY))
def test_only_an_operator_may_settle_review(
    app: Flask, tenant: tuple[str, str], start: str, target: str
) -> None:
    payment_id = make_payment(app, tenant[0], status=start)
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        assert transition(payment, target, source="callback", now=NOW) is False
        assert transition(payment, target, source="ops", now=NOW, operator=True) is True
        db.session.commit()
        assert payment.status == target


def test_a_transition_moves_only_its_own_payment(app: Flask, tenant: tuple[str, str]) -> None:
    mine = make_payment(app, tenant[0], status="processing", amount=10000, reference="MINE")
    other = make_payment(app, tenant[0], status="processing")
    with app.app_context():
        payment = db.session.get(PaymentTransaction, mine)
        assert transition(payment, "completed", source="test", now=NOW)
        db.session.commit()
        assert db.session.get(PaymentTransaction, other).status == "processing"
        [outbox] = db.session.execute(select(OutboxEvent)).scalars()
        assert outbox.type == "payment.completed"
        assert outbox.payload == {
            "id": mine,
            "object": "payment",
            "transaction_type": "stk_push",
            "status": "completed",
            "previous_status": "processing",
            "amount": 10000,
            "currency": "KES",
            "reference": "MINE",
            "receipt": None,
            "result_code": None,
            "result_desc": None,
            "created_at": payment.created_at.isoformat(),
            "updated_at": NOW.isoformat(),
        }


def test_enrich_fills_only_empty_fields_of_its_own_payment(
    app: Flask, tenant: tuple[str, str]
) -> None:
    mine = make_payment(app, tenant[0], status="completed", receipt="KEEP000001")
    other = make_payment(app, tenant[0], status="completed")
    with app.app_context():
        payment = db.session.get(PaymentTransaction, mine)
        fields = {"receipt": "NEW0000001", "paid_amount": 10000}
        assert enrich(payment, fields, source="test", now=NOW) is True
        db.session.commit()
        assert (payment.receipt, payment.paid_amount) == ("KEEP000001", 10000)  # never overwrites
        untouched = db.session.get(PaymentTransaction, other)
        assert (untouched.receipt, untouched.paid_amount) == (None, None)
        assert enrich(payment, fields, source="test", now=NOW) is False  # nothing left to fill


def test_a_processor_declares_each_types_lifecycle_when_registered() -> None:
    """A new product of an existing shape needs no change in the core: its processor names
    the lifecycle (here a made-up type), and the registry records it."""
    from apg.payments import lifecycle
    from apg.payments.registry import ProcessorRegistry
    from apg.processors.fake import FakeProcessor

    fake = FakeProcessor()
    fake.lifecycles = {"tax_remittance": "request_result", "gift": "reported"}  # type: ignore[misc]
    ProcessorRegistry().register(fake)
    assert lifecycle.LIFECYCLES["tax_remittance"][0] is lifecycle.ASYNC_REQUEST
    assert lifecycle.created_as("gift") == PaymentStatus.COMPLETED
    assert lifecycle.allows("tax_remittance", PaymentStatus.PROCESSING, PaymentStatus.TIMEOUT)
    with pytest.raises(KeyError):
        lifecycle.register("x", "no_such_lifecycle")


@pytest.mark.parametrize(
    ("transaction_type", "event_type", "object_name"),
    [
        ("stk_push", "payment.completed", "payment"),
        ("b2c_payment", "payout.completed", "payout"),
        ("b2b_payment", "b2b_payment.completed", "b2b_payment"),
        ("balance_inquiry", "balance_inquiry.completed", "balance_inquiry"),
        ("transaction_status", "transaction_status.completed", "transaction_status_query"),
        ("reversal", "reversal.completed", "reversal"),
    ],
)
def test_an_event_is_named_by_the_resource_the_api_shows(
    app: Flask, tenant: tuple[str, str], transaction_type: str, event_type: str, object_name: str
) -> None:
    payment_id = make_payment(app, tenant[0], transaction_type=transaction_type)
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        assert transition(payment, "completed", source="test", now=NOW)
        db.session.commit()
        [outbox] = db.session.execute(select(OutboxEvent)).scalars()
        assert (outbox.type, outbox.payload["object"]) == (event_type, object_name)


def test_a_recorded_conflict_is_announced(app: Flask, tenant: tuple[str, str]) -> None:
    payment_id = make_payment(app, tenant[0], status="completed")
    with app.app_context():
        payment = db.session.get(PaymentTransaction, payment_id)
        record_conflict(payment, PaymentStatus.FAILED, source="callback", detail={}, now=NOW)
        db.session.commit()
        [outbox] = db.session.execute(select(OutboxEvent)).scalars()
        assert outbox.type == "payment.conflict"
        assert (outbox.payload["status"], outbox.payload["reported_status"]) == (
            "completed",
            "failed",
        )
