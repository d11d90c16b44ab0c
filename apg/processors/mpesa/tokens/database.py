"""DatabaseTokenStore: the token in the app database, leases by compare-and-set UPDATE."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from sqlalchemy import Double, String, Text, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from apg.crypto import SecretBox
from apg.dbtypes import UTCDateTime
from apg.extensions import db
from apg.processors.mpesa.tokens.base import EpochClock, SharedTokenStore


class OAuthToken(db.Model):  # type: ignore[name-defined]
    """One row per credential set: the encrypted token and the lease of whoever is minting."""

    __tablename__ = "oauth_tokens"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_enc: Mapped[str | None] = mapped_column(Text, nullable=True)  # Fernet ciphertext
    expires_at: Mapped[float | None] = mapped_column(Double, nullable=True)  # epoch seconds
    lease_until: Mapped[float | None] = mapped_column(Double, nullable=True)  # epoch seconds
    lease_owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DatabaseTokenStore(SharedTokenStore):
    """Tokens in the app database (oauth_tokens), leases by compare-and-set UPDATE. Short
    transactions on its own connections: works outside requests, from threads, on SQLite and
    PostgreSQL. lease_seconds must exceed the slowest OAuth call (connect + read timeout);
    wait_seconds bounds how long a caller waits for another's mint."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        clock: EpochClock = time.time,
        lease_seconds: float = 30.0,
        poll_seconds: float = 0.05,
        wait_seconds: float = 20.0,
    ) -> None:
        super().__init__(box, clock, lease_seconds, poll_seconds, wait_seconds)
        self._engine = engine

    def _load(self, key: str) -> tuple[str, float] | None:
        query = select(OAuthToken.value_enc, OAuthToken.expires_at).where(OAuthToken.key == key)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            self._insert_row(key)  # so that _claim has a row to compare-and-set
            return None
        if row.value_enc is None or row.expires_at is None:
            return None
        return row.value_enc, row.expires_at

    def _insert_row(self, key: str) -> None:
        with contextlib.suppress(IntegrityError), self._engine.begin() as conn:
            conn.execute(insert(OAuthToken).values(key=key, updated_at=self._updated_at()))

    def _claim(self, key: str, owner: str, buffer_seconds: float) -> bool:
        now = self._clock()
        stale_and_free = (
            or_(OAuthToken.expires_at.is_(None), OAuthToken.expires_at <= now + buffer_seconds),
            or_(OAuthToken.lease_until.is_(None), OAuthToken.lease_until <= now),
        )
        return self._update(key, *stale_and_free, lease_owner=owner, lease_until=now + self._lease)

    def _publish(self, key: str, owner: str, ciphertext: str, expires_at: float) -> bool:
        return self._update(
            key,
            OAuthToken.lease_owner == owner,
            value_enc=ciphertext,
            expires_at=expires_at,
            lease_owner=None,
            lease_until=None,
        )

    def _release(self, key: str, owner: str) -> None:
        self._update(key, OAuthToken.lease_owner == owner, lease_owner=None, lease_until=None)

    def _forget(self, key: str, ciphertext: str) -> None:
        self._update(key, OAuthToken.value_enc == ciphertext, value_enc=None, expires_at=None)

    def _update(self, key: str, *conditions: ColumnElement[bool], **values: object) -> bool:
        """One compare-and-set UPDATE in its own transaction; True if the row matched."""
        stmt = (
            update(OAuthToken)
            .where(OAuthToken.key == key, *conditions)
            .values(**values, updated_at=self._updated_at())
        )
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def _updated_at(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)
