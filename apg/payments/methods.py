"""A customer's payment methods (for M-Pesa, a phone number), found or created race-safely."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from apg.dbtypes import new_id
from apg.extensions import db
from apg.payments.models import PaymentMethod


def payment_method(
    tenant_id: str, phone: str, customer_id: str | None, now: datetime
) -> PaymentMethod:
    """The tenant's method for this phone, created on first use (race-safe)."""

    def find() -> PaymentMethod | None:
        return db.session.execute(
            select(PaymentMethod).where(
                PaymentMethod.tenant_id == tenant_id,
                PaymentMethod.type == "mpesa",
                PaymentMethod.phone_number == phone,
            )
        ).scalar_one_or_none()

    method = find()
    if method is not None:
        return method
    method = PaymentMethod(
        id=new_id("pm"),
        tenant_id=tenant_id,
        type="mpesa",
        phone_number=phone,
        customer_id=customer_id,
        created_at=now,
    )
    try:  # a concurrent first payment may create it too: the unique constraint decides
        with db.session.begin_nested():
            db.session.add(method)
    except IntegrityError:
        existing = find()
        if existing is None:
            raise
        return existing
    return method
