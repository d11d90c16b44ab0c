"""Claim, complete and release idempotency keys. The unique constraint decides races."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from apg.errors import IdempotencyError
from apg.extensions import db
from apg.idempotency.models import IdempotencyKey


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    request_id: str | None


@dataclass(frozen=True)
class TakenOver:
    """The key's previous owner died mid-request; we own it now. What it left may exist."""

    claimed_at: datetime  # when the dead request claimed the key


@dataclass(frozen=True)
class Policy:
    ttl: timedelta  # how long a key replays its answer
    lease: timedelta  # how long an in-flight claim is its owner's


def fingerprint(method: str, path: str, body: Any, mode: str = "test") -> str:
    """Same request, same fingerprint: the body is canonicalised (key order does not matter).
    The API key's mode is part of the request: a live key reusing a test key's Idempotency-Key
    sends another request (422), never gets the test one's answer replayed."""
    canonical = json.dumps([method, path, body, mode], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(
    tenant_id: str, key: str, request_fingerprint: str, policy: Policy, now: datetime
) -> StoredResponse | TakenOver | None:
    """None: this request now owns the key. TakenOver: it owns a dead request's key. Else the
    stored response to replay.

    Raises 409 while another request holds the key (whatever its body), then 422 when the key
    was used for a different request.
    """
    for _ in range(3):
        if _insert(tenant_id, key, request_fingerprint, policy, now):
            return None
        row = _find(tenant_id, key)
        if row is None:  # released between our insert and our read: try again
            continue
        if row.expires_at <= now:
            _delete_expired(row, now)
            continue
        leased = row.response_status is None and row.locked_until and row.locked_until > now
        if leased:
            raise IdempotencyError(
                "A request with this Idempotency-Key is still in progress; retry later.",
                code="idempotency_request_in_progress",
                status=409,
                param="Idempotency-Key",
            )
        if row.fingerprint != request_fingerprint:
            raise IdempotencyError(
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
                status=422,
                param="Idempotency-Key",
            )
        if row.response_status is not None:
            return StoredResponse(row.response_status, row.response_body or "", row.request_id)
        if _take_over(row, policy, now):
            return TakenOver(row.created_at)
    raise IdempotencyError(
        "Could not claim the Idempotency-Key; retry.",
        status=409,
        code="idempotency_request_in_progress",
    )


def complete(tenant_id: str, key: str, status: int, body: str, request_id: str | None) -> None:
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key)
        .values(
            response_status=status, response_body=body, request_id=request_id, locked_until=None
        )
    )
    db.session.commit()


def release(tenant_id: str, key: str) -> None:
    """Forget the key: the request died before it had any effect."""
    db.session.rollback()
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key
        )
    )
    db.session.commit()


def end_lease(tenant_id: str, key: str, now: datetime) -> None:
    """Keep the key bound but let the next retry resolve it at once (it had an effect)."""
    db.session.rollback()
    db.session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.tenant_id == tenant_id,
            IdempotencyKey.key == key,
            IdempotencyKey.response_status.is_(None),
        )
        .values(locked_until=now)
    )
    db.session.commit()


def _insert(
    tenant_id: str, key: str, request_fingerprint: str, policy: Policy, now: datetime
) -> bool:
    db.session.add(
        IdempotencyKey(
            tenant_id=tenant_id,
            key=key,
            fingerprint=request_fingerprint,
            created_at=now,
            locked_until=now + policy.lease,
            expires_at=now + policy.ttl,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _take_over(row: IdempotencyKey, policy: Policy, now: datetime) -> bool:
    """Compare-and-set on the lease, so only one retry takes an abandoned key over."""
    won = db.session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row.id,
            IdempotencyKey.response_status.is_(None),
            (
                IdempotencyKey.locked_until.is_(None)
                if row.locked_until is None
                else IdempotencyKey.locked_until == row.locked_until
            ),
        )
        .values(locked_until=now + policy.lease)
    )
    db.session.commit()
    return won.rowcount == 1  # type: ignore[attr-defined]


def _find(tenant_id: str, key: str) -> IdempotencyKey | None:
    return db.session.execute(
        select(IdempotencyKey)
        .where(IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _delete_expired(row: IdempotencyKey, now: datetime) -> None:
    db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id == row.id, IdempotencyKey.expires_at <= now)
    )
    db.session.commit()
