"""Claim, complete and release idempotency keys. The unique constraint decides races."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from apg.errors import IdempotencyError
from apg.extensions import db
from apg.idempotency.models import IdempotencyKey
from apg.services import services


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(tenant_id: str, key: str, request_fingerprint: str) -> StoredResponse | None:
    """None: this request now owns the key. Else the stored response to replay.

    Raises 422 when the key was used for a different request, 409 while it is in flight.
    """
    for _ in range(3):
        if _insert(tenant_id, key, request_fingerprint):
            return None
        row = _find(tenant_id, key)
        if row is None:  # released or expired between our insert and our read: try again
            continue
        if row.expires_at <= services().clock.now():
            _delete_expired(row)
            continue
        if row.fingerprint != request_fingerprint:
            raise IdempotencyError(
                "This Idempotency-Key was already used with a different request.",
                code="idempotency_key_reused",
                status=422,
                param="Idempotency-Key",
            )
        if row.response_status is None:
            raise IdempotencyError(
                "A request with this Idempotency-Key is still in progress; retry later.",
                code="idempotency_request_in_progress",
                status=409,
                param="Idempotency-Key",
            )
        return StoredResponse(row.response_status, row.response_body or "")
    raise IdempotencyError(
        "Could not claim the Idempotency-Key; retry.",
        status=409,
        code="idempotency_request_in_progress",
    )


def complete(tenant_id: str, key: str, status: int, body: str) -> None:
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key)
        .values(response_status=status, response_body=body)
    )
    db.session.commit()


def release(tenant_id: str, key: str) -> None:
    """Forget the key (the request died before producing a response worth replaying)."""
    db.session.rollback()
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key
        )
    )
    db.session.commit()


def _insert(tenant_id: str, key: str, request_fingerprint: str) -> bool:
    now = services().clock.now()
    ttl = timedelta(hours=services().settings.payments.idempotency_ttl_hours)
    db.session.add(
        IdempotencyKey(
            tenant_id=tenant_id,
            key=key,
            fingerprint=request_fingerprint,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _find(tenant_id: str, key: str) -> IdempotencyKey | None:
    return db.session.execute(
        select(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key
        )
    ).scalar_one_or_none()


def _delete_expired(row: IdempotencyKey) -> None:
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == row.id, IdempotencyKey.expires_at <= services().clock.now()
        )
    )
    db.session.commit()
