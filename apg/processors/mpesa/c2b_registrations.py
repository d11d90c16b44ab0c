"""C2BRegistration: the C2B callback URLs registered with Daraja for each M-Pesa account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db


class C2BRegistration(db.Model):  # type: ignore[name-defined]
    """The URLs last registered for an account's shortcode: where Daraja now sends its C2B
    validations and confirmations, and how (version, default ResponseType)."""

    __tablename__ = "c2b_registrations"

    account_id: Mapped[str] = mapped_column(ForeignKey("mpesa_accounts.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    shortcode: Mapped[str] = mapped_column(String(10))
    response_type: Mapped[str] = mapped_column(String(16))  # Completed | Cancelled
    version: Mapped[str] = mapped_column(String(4))  # v1 (hashed MSISDN) | v2 (masked)
    confirmation_url: Mapped[str] = mapped_column(String(512))
    validation_url: Mapped[str] = mapped_column(String(512))
    originator_conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
