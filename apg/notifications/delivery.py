"""Delivering events: fan-out to subscribed endpoints, claim due deliveries, POST, record.

Fan-out happens in the worker, not in the payment's transaction: the state change stays one
small transaction, and an endpoint added later is never asked to have been known earlier.
outbox_events.delivered_at means "fanned out". A claim moves next_attempt_at forward (the
lease) and commits before any HTTP, so no DB transaction is open during a POST; a worker that
dies mid-POST leaves the delivery to be claimed again when its lease ends.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from sqlalchemy import select, update

from apg.crypto import SecretBox
from apg.extensions import db
from apg.notifications import destinations, events, signing
from apg.notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apg.payments.models import OutboxEvent

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
EXCERPT = 500  # bytes of an answer (or of the error) an attempt keeps
# (tenant_id, account_id) -> the key mode whose endpoints hear that account's events
ModeOf = Callable[[str, str], str]


@dataclass(frozen=True)
class Policy:
    schedule: Sequence[int]  # seconds before each retry; its length is the retries there are
    timeout: float
    lease: timedelta
    batch: int = 100
    public_only: bool = False  # production: never POST to a non-public address (destinations)


def fan_out(now: datetime, mode_of: ModeOf, batch: int = 100) -> int:
    """A pending delivery per new event and enabled endpoint that wants it; returns how many."""
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.delivered_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(batch)
    )
    if db.engine.dialect.name == "postgresql":  # another worker's batch is skipped, not awaited
        query = query.with_for_update(skip_locked=True)
    made = 0
    for event in db.session.execute(query).scalars().all():
        mode = mode_of(event.tenant_id, event.account_id or "")
        for endpoint in subscribed(event.tenant_id, mode, event.type):
            db.session.add(_delivery(event, endpoint, now))
            made += 1
        event.delivered_at = now
    db.session.commit()
    return made


def subscribed(tenant_id: str, mode: str, event_type: str) -> list[WebhookEndpoint]:
    rows = db.session.execute(
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id,
            WebhookEndpoint.mode == mode,
            WebhookEndpoint.enabled.is_(True),
        )
    ).scalars()
    return [endpoint for endpoint in rows if endpoint.wants(event_type)]


def redeliver(event: OutboxEvent, mode: str, now: datetime) -> list[str]:
    """Queue the event again, due now and on a fresh schedule, to every enabled endpoint that
    wants it; returns their ids."""
    targets = subscribed(event.tenant_id, mode, event.type)
    for endpoint in targets:
        found = db.session.execute(
            select(WebhookDelivery).filter_by(event_id=event.id, endpoint_id=endpoint.id)
        ).scalar()
        if found is None:
            db.session.add(_delivery(event, endpoint, now))
        else:
            found.status, found.attempts, found.next_attempt_at = PENDING, 0, now
            found.updated_at = now
    db.session.commit()
    return [endpoint.id for endpoint in targets]


def claim(now: datetime, policy: Policy) -> list[tuple[int, datetime]]:
    """Due deliveries this worker now holds until their lease ends: (id, lease end).

    Each is taken by a compare-and-set on next_attempt_at, so of two claimers only one wins a
    delivery (PostgreSQL also skips rows another claimer has locked).
    """
    due = (
        select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
        .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(policy.batch)
    )
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    until = now + policy.lease
    held = []
    for delivery_id, seen in db.session.execute(due).all():
        won = db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at == seen)
            .values(next_attempt_at=until)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            held.append((delivery_id, until))
    db.session.commit()
    return held


@dataclass(frozen=True)
class Sent:
    status_code: int | None
    excerpt: str
    latency_ms: int


def post(
    url: str, body: bytes, headers: dict[str, str], session: requests.Session, timeout: float
) -> Sent:
    started = time.monotonic()
    try:
        answer = session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
        sent = Sent(answer.status_code, answer.content[:EXCERPT].decode(errors="replace"), 0)
    except requests.RequestException as exc:
        sent = Sent(None, f"{type(exc).__name__}: {exc}"[:EXCERPT], 0)
    return Sent(sent.status_code, sent.excerpt, int((time.monotonic() - started) * 1000))


def attempt(
    held: tuple[int, datetime],
    policy: Policy,
    box: SecretBox,
    session: requests.Session,
    clock: Callable[[], datetime],
    jitter: Callable[[], float] = random.random,
) -> str:
    """POST one held delivery (no transaction open meanwhile), then record what happened."""
    delivery_id, until = held
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    event = db.session.get(OutboxEvent, delivery.event_id)
    if endpoint is None or event is None:
        return FAILED
    body = json.dumps(events.as_dict(event), separators=(",", ":")).encode()
    url, secret = endpoint.url, box.decrypt(endpoint.secret_encrypted)
    db.session.commit()  # ends the read transaction: none is open during the POST
    headers = {
        "Content-Type": "application/json",
        "APG-Event-Id": events.public_id(event),
        signing.HEADER: signing.sign(body, secret, int(clock().timestamp())),
    }
    host = urlsplit(url).hostname or ""
    refusal = destinations.resolved_refusal(host) if policy.public_only else None
    if refusal:  # an attempt like a failed POST: retried on the schedule, then failed
        sent = Sent(None, f"not sent: {refusal}", 0)
    else:
        sent = post(url, body, headers, session, policy.timeout)
    return record(delivery_id, until, sent, policy, clock(), jitter)


def record(
    delivery_id: int,
    until: datetime,
    sent: Sent,
    policy: Policy,
    now: datetime,
    jitter: Callable[[], float],
) -> str:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    tries = delivery.attempts + 1
    values: dict[str, object] = {"attempts": tries, "last_status_code": sent.status_code}
    if sent.status_code is not None and 200 <= sent.status_code < 300:
        values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None)
    elif tries > len(policy.schedule):
        values.update(status=FAILED, next_attempt_at=None)
    else:  # up to a tenth earlier than the schedule: retries of many events do not bunch up
        wait = policy.schedule[tries - 1] * (1 - 0.1 * jitter())
        values.update(next_attempt_at=now + timedelta(seconds=wait))
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            status_code=sent.status_code,
            latency_ms=sent.latency_ms,
            response=sent.excerpt,
            at=now,
        )
    )
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at == until)
        .values(**values, updated_at=now)
    )
    db.session.commit()
    return str(values.get("status", PENDING))


def _delivery(event: OutboxEvent, endpoint: WebhookEndpoint, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        tenant_id=event.tenant_id,
        event_id=event.id,
        endpoint_id=endpoint.id,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
