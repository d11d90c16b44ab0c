"""InboundCallback: the raw log of everything Daraja (or anyone) POSTs to us."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db


class CallbackOutcome:
    RECEIVED = "received"  # stored, not yet looked at
    APPLIED = "applied"  # changed a payment
    DUPLICATE = "duplicate"  # the payment already had a final status; nothing changed
    UNMATCHED = "unmatched"  # no payment with that CheckoutRequestID (yet)
    MALFORMED = "malformed"  # not a Daraja callback
    UNKNOWN_TENANT = "unknown_tenant"  # the path token matches no tenant


class InboundCallback(db.Model):  # type: ignore[name-defined]
    __tablename__ = "inbound_callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # stk
    tenant_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    raw_body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    source_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checkout_request_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    outcome: Mapped[str] = mapped_column(String(16), default=CallbackOutcome.RECEIVED)
    processed: Mapped[bool] = mapped_column(Boolean, default=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
