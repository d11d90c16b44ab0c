"""Reversals: a payment becomes `reversed` only when the upstream confirms its reversal."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from apg.clock import Clock
from apg.errors import InvalidRequestError
from apg.extensions import db
from apg.payments import transitions
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction
from apg.payments.operations import NewPayment

REVERSAL = "reversal"
REVERSIBLE = ("stk_push", "c2b_payment")  # money customers paid in; payouts cannot be reversed
# A reversal in any other status may already have moved the money back.
SETTLED_UNREVERSED = (PaymentStatus.FAILED.value, PaymentStatus.CANCELLED.value)


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


def reversals_of(tenant_id: str, payment_id: str) -> list[PaymentTransaction]:
    """The tenant's reversals asked for this payment, newest first."""
    reversed_id = PaymentTransaction.processor_data[("request", "payment_id")].as_string()
    return list(
        db.session.execute(
            select(PaymentTransaction)
            .where(
                PaymentTransaction.tenant_id == tenant_id,
                PaymentTransaction.transaction_type == REVERSAL,
                reversed_id == payment_id,
            )
            .order_by(PaymentTransaction.created_at.desc(), PaymentTransaction.id.desc())
        ).scalars()
    )


def not_reversing(payment: PaymentTransaction) -> PaymentTransaction:
    """The payment, unless a reversal of it is under way or done: then a 400 reversal_exists.

    Only a failed (or cancelled) reversal frees the payment for another, so that a payment is
    never reversed twice by accident (a retry under a new Idempotency-Key, a second click).
    Two requests racing past this check at once both reach M-Pesa, which reverses a receipt
    once (R000001 for the second). 400, not 409: in this API a 409 says "the same
    Idempotency-Key is still in flight, retry later", and this refusal stands for as long as
    that reversal does; `not_reversible` is a 400 for the same kind of reason.
    """
    for reversal in reversals_of(payment.tenant_id, payment.id):
        if reversal.status not in SETTLED_UNREVERSED:
            raise InvalidRequestError(
                f"This payment already has a reversal, {reversal.id}, that is {reversal.status}:"
                " a payment is reversed once. Fetch that reversal instead.",
                code="reversal_exists",
            )
    return payment


def new_reversal(
    payment: PaymentTransaction,
    amount: int | None,
    reason: str,
    metadata: dict[str, Any] | None = None,
) -> NewPayment:
    """The reversal of a reversible `payment` not already being reversed: by the payment's own
    account, of its receipt, at most its amount (all of it by default)."""
    not_reversing(reversible(payment))
    amount = payment.amount if amount is None else amount
    if amount is None or (payment.amount is not None and amount > payment.amount):
        raise InvalidRequestError(
            f"amount must be at most the payment's amount ({payment.amount} cents).",
            param="amount",
            code="amount_exceeds_payment",
        )
    return NewPayment(
        amount=amount,
        currency=payment.currency,
        phone_number=None,
        reference=payment.reference,
        metadata=metadata,
        payment_method_type="mpesa_reversal",
        details={"payment_id": payment.id, "transaction_id": payment.receipt, "remarks": reason},
        account_id=payment.account_id,
    )


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
