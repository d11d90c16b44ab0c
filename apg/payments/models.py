"""PaymentTransaction, PaymentMethod, ProcessorReference, the PaymentEvent audit and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from apg.dbtypes import UTCDateTime
from apg.extensions import db
from apg.payments.lifecycle import PaymentStatus


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
    """One money movement of any type. Status changes only through payments.transitions."""

    __tablename__ = "payment_transactions"
    __table_args__ = (
        Index("ix_payment_transactions_tenant_created", "tenant_id", "created_at", "id"),
        # Lists (queries.list_payments) read one type at a time, newest first: a page is an
        # ordered scan that stops after the page, however rare the type or the status.
        Index(
            "ix_payment_transactions_tenant_type_created",
            "tenant_id",
            "transaction_type",
            "created_at",
            "id",
        ),
        Index(
            "ix_payment_transactions_tenant_type_status_created",
            "tenant_id",
            "transaction_type",
            "status",
            "created_at",
            "id",
        ),
        Index(
            "ix_payment_transactions_tenant_reference", "tenant_id", "reference", "created_at", "id"
        ),
        # Not unique: a key may be used again once it expires. The claim decides races.
        Index("ix_payment_transactions_tenant_idempotency_key", "tenant_id", "idempotency_key"),
        # Reconciliation looks for operations still open (pending, processing…) by age. On
        # PostgreSQL it also holds what /ops/stats groups a window by (an index-only scan);
        # included, not keys: a list never mistakes it for a (tenant, type) index.
        Index(
            "ix_payment_transactions_status_created",
            "status",
            "created_at",
            postgresql_include=["tenant_id", "transaction_type", "conflicts"],
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    transaction_type: Mapped[str] = mapped_column(String(24))  # stk_push | c2b | b2c | …
    processor: Mapped[str] = mapped_column(String(24))  # mpesa
    account_id: Mapped[str] = mapped_column(String(40))  # the processor account that carried it
    payment_method_id: Mapped[str | None] = mapped_column(
        ForeignKey("payment_methods.id"), nullable=True
    )
    payment_method_type: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reference: Mapped[str] = mapped_column(String(64))
    phone_number: Mapped[str | None] = mapped_column(String(15), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=PaymentStatus.PENDING.value)
    status_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    receipt: Mapped[str | None] = mapped_column(String(32), nullable=True)
    paid_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # as reported
    result_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    result_desc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    transaction_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processor_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # payments.reconciliation: no reconciler looks at the row before reconcile_after (a claim's
    # lease, then the next ask's time); reconcile_attempts counts the looks (the backoff).
    reconcile_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reconcile_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    refs: Mapped[list[ProcessorReference]] = relationship(
        lazy="selectin", order_by="ProcessorReference.id", viewonly=True
    )

    def ref(self, kind: str) -> str | None:
        return next((r.value for r in self.refs if r.kind == kind), None)


class ProcessorReference(db.Model):  # type: ignore[name-defined]
    """A correlation id (CheckoutRequestID, ConversationID, TransID…): any callback finds its
    transaction by any id the upstream sends. Unique per processor, kind and value."""

    __tablename__ = "processor_references"
    __table_args__ = (UniqueConstraint("processor", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("payment_transactions.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    processor: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# What a merchant's audit trail shows (GET /payments/{id}/events). `operator` (what an operator
# asked, from which address) and `reviewed` (conflicts acknowledged) are ops' own rows.
MERCHANT_EVENT_KINDS = ("created", "transition", "enrichment", "conflict")


class PaymentEvent(db.Model):  # type: ignore[name-defined]
    """Append-only audit row, written in the same transaction as the change it records.

    kind: created | transition | enrichment | conflict, and ops' operator | reviewed.
    """

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payment_transactions.id"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16), default="transition")
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))  # api | callback | query | sweep | ops
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxEvent(db.Model):  # type: ignore[name-defined]
    """A merchant-facing event, written with the change it announces; delivered later."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        # GET /events: a tenant's events newest first (ids only grow), and of one type.
        Index("ix_outbox_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_outbox_events_tenant_type_id", "tenant_id", "type", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    # The account whose key mode hears it (test or live); null only on rows older than 0012.
    account_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The transaction it announces; none for a checkout session that expired unpaid.
    payment_id: Mapped[str | None] = mapped_column(
        ForeignKey("payment_transactions.id"), index=True, nullable=True
    )
    type: Mapped[str] = mapped_column(String(40))  # payment.completed, payment.review, …
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
