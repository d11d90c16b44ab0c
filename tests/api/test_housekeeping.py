"""`flask apg purge` (and the worker's pass): expired idempotency keys, settled raw callbacks
and delivered events past retention go; whatever may still matter stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from apg.extensions import db
from apg.idempotency.models import IdempotencyKey
from apg.notifications.models import WebhookAttempt, WebhookDelivery
from apg.payments.models import OutboxEvent
from apg.webhooks.models import InboundCallback
from tests.support.clock import ShiftableClock
from tests.support.factories import make_outbox_event

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)


def key(tenant_id: str, name: str, expires: datetime, locked: datetime | None = None) -> None:
    db.session.add(
        IdempotencyKey(
            tenant_id=tenant_id,
            key=name,
            fingerprint="f" * 64,
            created_at=OLD,
            locked_until=locked,
            expires_at=expires,
        )
    )


def callback(tenant_id: str, outcome: str, received: datetime) -> None:
    db.session.add(
        InboundCallback(
            kind="stk",
            processor="mpesa",
            tenant_id=tenant_id,
            raw_body=outcome.encode(),
            body_size=len(outcome),
            received_at=received,
            outcome=outcome,
        )
    )


def event(app: Flask, tenant_id: str, created: datetime, delivery: str | None) -> int:
    """An outbox event (and its delivery, with one attempt); returns the event's id."""
    event_id, delivery_id = make_outbox_event(app, tenant_id, created, delivery)
    if delivery_id is not None:
        with app.app_context():
            attempt = WebhookAttempt(
                delivery_id=delivery_id, status_code=200, latency_ms=5, at=created
            )
            db.session.add(attempt)
            db.session.commit()
    return event_id


def purge(app: Flask) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["apg", "purge"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_purge_deletes_only_what_has_expired(
    app: Flask, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    tenant_id = tenant[0]
    now = clock.now()  # the purge's: earlier tests may have moved the shared clock on
    with app.app_context():
        key(tenant_id, "expired", now - timedelta(hours=1))
        key(tenant_id, "in-flight", now - timedelta(hours=1), locked=now + timedelta(minutes=1))
        key(tenant_id, "live", now + timedelta(hours=1))
        for outcome in ("applied", "duplicate", "malformed", "received", "unmatched"):
            callback(tenant_id, outcome, OLD)
        callback(tenant_id, "applied", NOW)
        db.session.commit()
    delivered = event(app, tenant_id, OLD, "delivered")
    pending = event(app, tenant_id, OLD, "pending")
    recent = event(app, tenant_id, NOW, "delivered")
    unsubscribed = event(app, tenant_id, OLD, None)

    assert purge(app) == {"idempotency_keys": 1, "callbacks": 3, "events": 2}

    with app.app_context():
        keys = set(db.session.execute(select(IdempotencyKey.key)).scalars())
        outcomes = sorted(db.session.execute(select(InboundCallback.outcome)).scalars())
        events = set(db.session.execute(select(OutboxEvent.id)).scalars())
        deliveries = set(db.session.execute(select(WebhookDelivery.event_id)).scalars())
    assert keys == {"in-flight", "live"}
    assert outcomes == ["applied", "received", "unmatched"]  # the recent one, and the unsettled
    assert events == {pending, recent} and delivered not in events and unsubscribed not in events
    assert deliveries == {pending, recent}
    assert purge(app) == {"idempotency_keys": 0, "callbacks": 0, "events": 0}  # idempotent


def test_the_workers_pass_purges_at_most_every_every_seconds(
    app: Flask, tenant: tuple[str, str], clock: ShiftableClock
) -> None:
    from apg.housekeeping import Purger

    with app.app_context():
        purger = Purger(app.extensions["apg"].settings.retention, clock.now)
        assert purger() == {"idempotency_keys": 0, "callbacks": 0, "events": 0}
        key(tenant[0], "expired", clock.now() - timedelta(hours=1))
        db.session.commit()
        assert purger() == {}  # too soon: nothing is looked at
        clock.shift(timedelta(seconds=3600))
        assert purger()["idempotency_keys"] == 1
