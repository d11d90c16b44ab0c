"""Reversals: a payment becomes `reversed` only when the upstream confirms its reversal."""

from __future__ import annotations

from sqlalchemy import select

from apg.clock import Clock
from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.payments import transitions
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction

REVERSAL = "reversal"
REVERSIBLE = ("stk_push", "c2b_payment")  # money customers paid in; payouts cannot be reversed


def reversible(payment: PaymentTransaction) -> PaymentTransaction:
    """The payment, if a reversal may be asked for it; else a 400 saying why."""
    if payment.transaction_type not in REVERSIBLE:
        raise InvalidRequestError(
            f"A {payment.transaction_type} cannot be reversed: M-Pesa reverses collections"
            " (STK Push, C2B) only.",
            code="not_reversible",
        )
    if payment.status != PaymentStatus.COMPLETED or not payment.receipt:
        raise InvalidRequestError(
            f"Only a completed payment with an M-Pesa receipt can be reversed; this one is"
            f" {payment.status}.",
            code="not_reversible",
        )
    return payment


class ReversalListener:
    """Moves the reversed payment when its reversal is confirmed (EventApplier.moved_listeners):
    in the same transaction as the reversal's own move, so both happen or neither."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, txn: PaymentTransaction, source: str) -> None:
        if txn.transaction_type != REVERSAL or txn.status != PaymentStatus.COMPLETED:
            return
        payment_id = ((txn.processor_data or {}).get("request") or {}).get("payment_id")
        payment = db.session.execute(
            select(PaymentTransaction).where(
                PaymentTransaction.id == payment_id,
                PaymentTransaction.tenant_id == txn.tenant_id,
            )
        ).scalar_one_or_none()
        if payment is not None:
            transitions.transition(
                payment,
                PaymentStatus.REVERSED,
                source=REVERSAL,
                now=self.clock.now(),
                detail={"reversal_id": txn.id, "reversal_receipt": txn.receipt},
            )
