"""IdempotencyKey table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from apg.dbtypes import UTCDateTime
from apg.extensions import db


class IdempotencyKey(db.Model):  # type: ignore[name-defined]
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: in flight
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(40), nullable=True)  # of the answer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # While in flight, the claim is its owner's until then; a worker killed mid-request stops
    # renewing nothing, so after it the key resolves to what the request left behind.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
