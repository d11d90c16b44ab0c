"""What the merchant is told of a transaction: its event type and payload (the outbox row).

Types read `<resource>.<what happened>`: the resource is the API's name for the transaction's
kind (payment, payout, …), so a merchant subscribes by product, whatever processor carried it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apg.extensions import db
from apg.payments.lifecycle import FINAL_STATUSES, PaymentStatus
from apg.payments.models import OutboxEvent, PaymentTransaction

# transaction_type -> (the resource its events are named by, the API's `object`). A type not
# listed is named by itself (a new product is announced before anyone names it here).
RESOURCES: dict[str, tuple[str, str]] = {
    "stk_push": ("payment", "payment"),
    "c2b_payment": ("c2b_payment", "c2b_payment"),
    "b2c_payment": ("payout", "payout"),
    "b2b_payment": ("b2b_payment", "b2b_payment"),
    "balance_inquiry": ("balance_inquiry", "balance_inquiry"),
    "transaction_status": ("transaction_status", "transaction_status_query"),
    "reversal": ("reversal", "reversal"),
}
# The statuses a merchant hears of: outcomes, and review (someone must look). pending,
# processing and unknown are the gateway's business; the resource shows them on request.
ANNOUNCED = FINAL_STATUSES | {PaymentStatus.REVIEW}
RECEIVED = "received"  # money the upstream reported into being (an incoming C2B payment)
# Resources that are not transactions announce their own types (apg.checkout: a session).
OTHER_TYPES = ("checkout_session.completed", "checkout_session.expired")
CONFLICT = "conflict"  # an upstream report contradicting a settled status, kept, not applied


def resource_of(transaction_type: str) -> tuple[str, str]:
    return RESOURCES.get(transaction_type, (transaction_type, transaction_type))


def event_types() -> list[str]:
    """Every type there is, for documentation and subscription checks."""
    happenings = [*sorted(ANNOUNCED), CONFLICT]
    found = {f"{name}.{what}" for name, _ in RESOURCES.values() for what in happenings}
    return sorted(found | {f"c2b_payment.{RECEIVED}", *OTHER_TYPES})


def announce(
    txn: PaymentTransaction,
    what: str,
    now: datetime,
    previous: PaymentStatus | None = None,
    **extra: Any,
) -> OutboxEvent | None:
    """Add the outbox row saying `what` happened to `txn` (a status, received or conflict) to
    the caller's transaction; None when the merchant is not told of it (e.g. processing)."""
    if what not in (RECEIVED, CONFLICT) and what not in ANNOUNCED:
        return None
    resource, _ = resource_of(txn.transaction_type)
    event = OutboxEvent(
        tenant_id=txn.tenant_id,
        account_id=txn.account_id,
        payment_id=txn.id,
        type=f"{resource}.{what}",
        payload={**payload(txn), "previous_status": previous.value if previous else None, **extra},
        created_at=now,
    )
    db.session.add(event)
    return event


def payload(txn: PaymentTransaction) -> dict[str, Any]:
    """The transaction as a merchant sees it: what the API shows of every kind."""
    _, object_name = resource_of(txn.transaction_type)
    return {
        "id": txn.id,
        "object": object_name,
        "transaction_type": txn.transaction_type,
        "status": txn.status,
        "amount": txn.amount,
        "currency": txn.currency,
        "reference": txn.reference,
        "receipt": txn.receipt,
        "result_code": txn.result_code,
        "result_desc": txn.result_desc,
        "created_at": _iso(txn.created_at),
        "updated_at": _iso(txn.updated_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
