"""PaymentTransaction, PaymentMethod and the PaymentEvent audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db
from apg.payments.status import PaymentStatus


class PaymentMethod(db.Model):  # type: ignore[name-defined]
    """A customer's way to pay; for M-Pesa, a normalised MSISDN."""

    __tablename__ = "payment_methods"
    __table_args__ = (UniqueConstraint("tenant_id", "type", "phone_number"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    phone_number: Mapped[str] = mapped_column(String(15))
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentTransaction(db.Model):  # type: ignore[name-defined]
    """One attempt to move money. Status changes only through apg.payments.transitions."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        Index("ix_payment_transactions_tenant_created", "tenant_id", "created_at", "id"),
        UniqueConstraint("checkout_request_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    merchant_id: Mapped[str] = mapped_column(String(40))  # the MpesaCredential used
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payment_method_id: Mapped[str] = mapped_column(ForeignKey("payment_methods.id"))
    payment_method_type: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units (cents)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reference: Mapped[str] = mapped_column(String(64), index=True)
    phone_number: Mapped[str] = mapped_column(String(15))
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING.value)
    merchant_request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checkout_request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mpesa_receipt_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    result_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    result_desc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    transaction_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PaymentEvent(db.Model):  # type: ignore[name-defined]
    """Append-only audit row, written in the same transaction as the change it records."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment_transactions.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))  # api | daraja | callback | stk_query
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
