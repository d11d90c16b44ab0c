"""CheckoutSession: one hosted page a customer pays a merchant on, at most once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db

OPEN, COMPLETED, EXPIRED = "open", "completed", "expired"
STATUSES = (OPEN, COMPLETED, EXPIRED)


class CheckoutSession(db.Model):  # type: ignore[name-defined]
    """Open until paid (completed) or past `expires_at` with no prompt out (expired).

    `paying` is the claim that makes a session paid at most once: a prompt is sent only by the
    request whose UPDATE turned it on, and it stays on until that prompt's payment is decided
    (its listener turns it off, or completes the session). `token_hash` finds the page; the
    token itself is kept encrypted, for the `url` the API shows again.
    """

    __tablename__ = "checkout_sessions"
    __table_args__ = (
        Index("ix_checkout_sessions_tenant_created", "tenant_id", "created_at", "id"),
        # A Paybill payment names its session by account number (BillRefNumber), per tenant.
        Index(
            "ix_checkout_sessions_tenant_account_number",
            "tenant_id",
            "account_number",
            unique=True,
        ),
        # The expiry pass looks for open sessions by expiry time.
        Index("ix_checkout_sessions_status_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    account_id: Mapped[str] = mapped_column(String(40))  # the processor account that collects
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_ciphertext: Mapped[str] = mapped_column(Text)
    account_number: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(12))
    description: Mapped[str | None] = mapped_column(String(13), nullable=True)
    phone_number: Mapped[str | None] = mapped_column(String(15), nullable=True)  # prefilled
    success_url: Mapped[str] = mapped_column(String(2048))
    cancel_url: Mapped[str] = mapped_column(String(2048))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    paying: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True)  # what paid it
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
