"""Tenant and ApiKey tables. Nothing here knows M-Pesa."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db


class Tenant(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # stripped, never empty
    # Unguessable path token that routes Daraja callbacks to this tenant. Hex, so it can never
    # contain a word Daraja forbids in callback URLs (exe, cmd, sql, ...).
    callback_token: Mapped[str] = mapped_column(String(64), unique=True)
    # After a rotation the old token keeps routing callbacks until previous_callback_token_until
    # (operations opened before it were given the old URL, and C2B URLs re-register).
    previous_callback_token: Mapped[str | None] = mapped_column(
        String(64), unique=True, nullable=True
    )
    previous_callback_token_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(db.Model):  # type: ignore[name-defined]
    """Only the SHA-256 of the key is stored; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))  # test | live
    prefix: Mapped[str] = mapped_column(String(24))  # e.g. apg_test_AbCd, for support chats
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the key stops working: in the past, revoked; in the future, a rotated key's grace
    # period; None, active.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the key last authenticated a request, to the minute (written at most once a minute).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def works_at(self, now: datetime) -> bool:
        return self.revoked_at is None or self.revoked_at > now
