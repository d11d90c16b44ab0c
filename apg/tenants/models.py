"""Tenant, ApiKey and MpesaCredential tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db


class Tenant(db.Model):  # type: ignore[name-defined]
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Unguessable path token that routes Daraja callbacks to this tenant. Hex, so it can never
    # contain a word Daraja forbids in callback URLs (exe, cmd, sql, ...).
    callback_token: Mapped[str] = mapped_column(String(64), unique=True)
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
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MpesaCredential(db.Model):  # type: ignore[name-defined]
    """A tenant's Daraja app and shortcode. Secrets are Fernet ciphertext."""

    __tablename__ = "mpesa_credentials"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), unique=True)
    environment: Mapped[str] = mapped_column(String(16))  # emulator | sandbox | production
    base_url: Mapped[str | None] = mapped_column(String(255), nullable=True)
    shortcode: Mapped[str] = mapped_column(String(10))  # paybill or till number
    shortcode_kind: Mapped[str] = mapped_column(String(8))  # paybill | till
    store_number: Mapped[str | None] = mapped_column(String(10), nullable=True)
    consumer_key_enc: Mapped[str] = mapped_column(String(512))
    consumer_secret_enc: Mapped[str] = mapped_column(String(512))
    passkey_enc: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
