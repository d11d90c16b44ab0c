"""Housekeeping: what the gateway no longer needs is deleted, in small batches, by the worker.

- Idempotency keys past their expiry (never one still in flight).
- Raw callbacks older than retention.callbacks_days once they are settled; a callback still
  `received` or `unmatched` may yet apply to a payment, so reconciliation keeps it.
- Merchant events older than retention.events_days once none of their deliveries is pending,
  with their deliveries and attempts.

Each batch is its own short transaction, so a purge never holds locks for long and a worker
killed mid-purge leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select

from apg.extensions import db
from apg.idempotency.models import IdempotencyKey
from apg.notifications.models import WebhookAttempt, WebhookDelivery
from apg.payments.models import OutboxEvent
from apg.settings import RetentionSettings
from apg.webhooks.models import CallbackOutcome, InboundCallback

# A callback in one of these may still settle something: it is kept whatever its age.
UNSETTLED = (CallbackOutcome.RECEIVED, CallbackOutcome.UNMATCHED)
MAX_BATCHES = 50  # per kind and pass: the rest waits for the next pass


class Purger:
    """The worker's pass: a purge at most every `every`, so large tables are not scanned every
    few seconds for the few rows that expired meanwhile."""

    def __init__(self, retention: RetentionSettings, now: Callable[[], datetime]) -> None:
        self.retention, self.now = retention, now
        self.every = timedelta(seconds=retention.every_seconds)
        self.last: datetime | None = None

    def __call__(self) -> dict[str, int]:
        now = self.now()
        if self.last is not None and now - self.last < self.every:
            return {}
        self.last = now
        return purge(self.retention, now)


def purge(retention: RetentionSettings, now: datetime) -> dict[str, int]:
    """Delete what has expired; returns how many rows of each kind went."""
    return {
        "idempotency_keys": _purge_ids(
            IdempotencyKey,
            select(IdempotencyKey.id).where(
                IdempotencyKey.expires_at < now,
                (IdempotencyKey.locked_until.is_(None)) | (IdempotencyKey.locked_until < now),
            ),
            retention.batch_size,
        ),
        "callbacks": _purge_ids(
            InboundCallback,
            select(InboundCallback.id).where(
                InboundCallback.received_at < now - timedelta(days=retention.callbacks_days),
                InboundCallback.outcome.not_in(UNSETTLED),
            ),
            retention.batch_size,
        ),
        "events": _purge_events(now - timedelta(days=retention.events_days), retention.batch_size),
    }


def _purge_ids(model: Any, ids: Any, batch_size: int) -> int:
    deleted = 0
    for _ in range(MAX_BATCHES):
        batch = list(db.session.execute(ids.limit(batch_size)).scalars())
        if not batch:
            break
        db.session.execute(delete(model).where(model.id.in_(batch)))
        db.session.commit()
        deleted += len(batch)
    return deleted


def _purge_events(before: datetime, batch_size: int) -> int:
    """Old events none of whose deliveries is still pending, with deliveries and attempts."""
    pending = exists().where(
        WebhookDelivery.event_id == OutboxEvent.id, WebhookDelivery.status == "pending"
    )
    old = select(OutboxEvent.id).where(
        OutboxEvent.created_at < before, OutboxEvent.delivered_at.is_not(None), ~pending
    )
    deleted = 0
    for _ in range(MAX_BATCHES):
        batch = list(db.session.execute(old.limit(batch_size)).scalars())
        if not batch:
            break
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(batch))
        db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
        db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(batch)))
        db.session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(batch)))
        db.session.commit()
        deleted += len(batch)
    return deleted
