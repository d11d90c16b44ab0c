"""InboundCallback: the raw log of everything Daraja (or anyone) POSTs to us, byte for byte."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db


class CallbackOutcome:
    RECEIVED = "received"  # stored, not yet looked at
    # applied | review | enriched | duplicate | conflict | unmatched: see payments.events.Verdict
    UNMATCHED = "unmatched"
    MALFORMED = "malformed"  # not a callback of that kind
    UNKNOWN_TENANT = "unknown_tenant"  # the path token matches no tenant
    # Kept whole and replayable by ops (replay-callback), but not applied:
    RETIRED_TOKEN = "retired_token"  # a rotated-out URL token past its grace period
    SOURCE_REFUSED = "source_refused"  # from outside security.callback_allowlist
    TOO_LARGE = "too_large"  # over the size limit; only its head is kept


class InboundCallback(db.Model):  # type: ignore[name-defined]
    __tablename__ = "inbound_callbacks"
    __table_args__ = (
        # Housekeeping reads by arrival time; on PostgreSQL /ops/stats counts a window by
        # tenant and outcome (and how many were processed) from this index alone.
        Index(
            "ix_inbound_callbacks_received_at",
            "received_at",
            postgresql_include=["tenant_id", "outcome", "processed_at"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # stk, and each product's kinds
    processor: Mapped[str] = mapped_column(String(24))
    tenant_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    raw_body: Mapped[bytes] = mapped_column(LargeBinary)  # exact bytes (capped if untrusted)
    body_size: Mapped[int] = mapped_column(Integer)  # the size that arrived
    content_type: Mapped[str | None] = mapped_column(String(128), nullable=True)
    source_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ref_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ref_value: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    outcome: Mapped[str] = mapped_column(String(16), default=CallbackOutcome.RECEIVED, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
