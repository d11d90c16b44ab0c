"""The one function that changes a payment's status: allowed-transition check + compare-and-set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from apg.extensions import db
from apg.payments.models import PaymentEvent, PaymentTransaction
from apg.payments.status import ALLOWED_TRANSITIONS, PaymentStatus
from apg.services import services


def transition(
    payment: PaymentTransaction,
    to: PaymentStatus,
    *,
    source: str,
    fields: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Move `payment` to `to` if the table allows it and nobody moved it first.

    The UPDATE only matches the status we read, so a concurrent or replayed change loses the
    race cleanly (returns False, `payment` refreshed). The audit row joins the same transaction;
    the caller commits.
    """
    current = PaymentStatus(payment.status)
    if to not in ALLOWED_TRANSITIONS[current]:
        return False
    now = services().clock.now()
    values: dict[str, Any] = {**(fields or {}), "status": to.value, "updated_at": now}
    if to.is_final:
        values["finalized_at"] = now
    result = db.session.execute(
        update(PaymentTransaction)
        .where(PaymentTransaction.id == payment.id, PaymentTransaction.status == current.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(payment)
        return False
    db.session.add(
        PaymentEvent(
            payment_id=payment.id,
            tenant_id=payment.tenant_id,
            from_status=current.value,
            to_status=to.value,
            source=source,
            detail=detail,
            created_at=now,
        )
    )
    db.session.flush()
    db.session.refresh(payment)
    return True


def record_created(payment: PaymentTransaction, source: str = "api") -> None:
    db.session.add(
        PaymentEvent(
            payment_id=payment.id,
            tenant_id=payment.tenant_id,
            from_status=None,
            to_status=payment.status,
            source=source,
            created_at=payment.created_at,
        )
    )
