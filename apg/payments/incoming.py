"""Money that arrived unasked (e.g. a C2B payment): its row, and the payment it may repeat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from apg.dbtypes import new_id
from apg.extensions import db
from apg.payments import lifecycle, ports, queries
from apg.payments.models import PaymentTransaction

# How far back money reported again (by another product's callback) is looked for by receipt;
# once found, its refs are added, so any later copy is found by them.
SAME_MONEY_WINDOW = timedelta(days=3)


def paid_with(
    tenant_id: str, processor: str, receipt: str | None, now: datetime
) -> PaymentTransaction | None:
    """A recent collection already settled with this receipt: an STK Push to a paybill is
    confirmed to its C2B URL too (API.md §4.2), and must not count twice."""
    if not receipt:
        return None
    return (
        db.session.execute(
            select(PaymentTransaction).where(
                PaymentTransaction.tenant_id == tenant_id,
                PaymentTransaction.created_at >= now - SAME_MONEY_WINDOW,  # tenant/created index
                PaymentTransaction.processor == processor,
                PaymentTransaction.transaction_type.in_(queries.COLLECTIONS),
                PaymentTransaction.receipt == receipt,
            )
        )
        .scalars()
        .first()
    )


def payment(
    tenant_id: str, processor: str, account_id: str, incoming: ports.Incoming, now: datetime
) -> PaymentTransaction:
    """The row of money that arrived unasked, in the status its type is created in."""
    status = lifecycle.created_as(incoming.transaction_type)
    return PaymentTransaction(
        id=new_id("pay"),
        tenant_id=tenant_id,
        transaction_type=incoming.transaction_type,
        processor=processor,
        account_id=account_id,
        payment_method_type=incoming.payment_method_type,
        amount=incoming.amount,
        paid_amount=incoming.amount,
        currency=incoming.currency,
        reference=incoming.reference,
        phone_number=incoming.phone_number,
        receipt=incoming.receipt,
        transaction_date=incoming.transaction_date,
        status=status.value,
        conflicts=0,
        processor_data={"result": dict(incoming.details)} if incoming.details else None,
        created_at=now,
        updated_at=now,
        finalized_at=now if status.is_final else None,
    )


def insert(*batches: list[Any]) -> None:
    """Insert the rows, each batch flushed before the next (foreign keys)."""
    for rows in batches:
        db.session.add_all(rows)
        db.session.flush()
