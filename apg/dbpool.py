"""Pooled database connections are checked before reuse only after they sat idle a while.

SQLAlchemy's pool_pre_ping checks every checkout: a round trip per transaction, and a request
has several (a payment: the Idempotency-Key claim, the pending row, the answer, the stored
response). Under load a pooled connection is seconds old and alive; one that sat idle may
have been cut (a database restart, a firewall's idle timeout), so only that one is checked,
and replaced when the check fails (SQLAlchemy's custom pessimistic disconnect handling).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_SECONDS = 30.0


def ping_when_idle(
    engine: Engine,
    idle_seconds: float = IDLE_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Check a pooled connection at checkout when it was idle `idle_seconds` or more; a dead
    one is replaced by a new connection (the pool retries), never handed to a request."""

    @event.listens_for(engine, "checkin")
    def _idle_from(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = clock()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or clock() - since < idle_seconds:
            return  # new, or in use moments ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer") from exc
