"""The one function that changes a status: table check, compare-and-set, audit and outbox rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import lazyload

from apg.extensions import db
from apg.payments import announcements, lifecycle
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentEvent, PaymentTransaction

# A lost compare-and-set re-reads and re-checks; more than a few losses in a row means a storm
# of writers on one row, and the caller's answer ("not applied") is then the honest one.
MAX_ATTEMPTS = 4


def transition(
    txn: PaymentTransaction,
    to: PaymentStatus | str,
    *,
    source: str,
    now: datetime,
    fields: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    operator: bool = False,
) -> bool:
    """Move `txn` to `to` if its type's table allows it from the status it has now.

    The UPDATE matches only the status just read. When another writer got there first, the row
    is re-read and the move re-checked against the fresh status (a late success after a timeout
    must not be dropped because our copy still said `processing`). The audit and outbox rows
    join the same transaction; the caller commits. Returns False when the move is not allowed.
    """
    to = PaymentStatus(to)
    for _ in range(MAX_ATTEMPTS):
        current = PaymentStatus(txn.status)
        if not lifecycle.allows(txn.transaction_type, current, to, operator=operator):
            return False
        values: dict[str, Any] = {**(fields or {}), "status": to.value, "updated_at": now}
        if to.is_final and txn.finalized_at is None:
            values["finalized_at"] = now
        if _compare_and_set(txn, [PaymentTransaction.status == current.value], values):
            _audit(txn, "transition", current, source, detail, now)
            announcements.announce(txn, txn.status, now, previous=current)
            db.session.flush()
            return True
    return False


def _compare_and_set(
    txn: PaymentTransaction, conditions: list[ColumnElement[bool]], values: dict[str, Any]
) -> bool:
    """UPDATE the row if `conditions` still hold; `txn` then shows the row as written (one
    round trip: UPDATE … RETURNING). When they no longer hold, `txn` is re-read: the caller
    re-checks against what another writer left."""
    written = db.session.execute(
        update(PaymentTransaction)
        .where(PaymentTransaction.id == txn.id, *conditions)
        .values(**values)
        .returning(PaymentTransaction)
        .options(lazyload(PaymentTransaction.refs))  # the refs did not change: not re-read
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalar_one_or_none()
    if written is None:
        db.session.refresh(txn)
        return False
    return True


def enrich(txn: PaymentTransaction, fields: dict[str, Any], *, source: str, now: datetime) -> bool:
    """Fill fields that are still empty (e.g. the receipt after a query completed the payment).

    Never overwrites, never changes the status. Returns True only when this call filled
    something (a concurrent enrichment that got there first is re-read, not counted twice).
    """
    for _ in range(MAX_ATTEMPTS):
        missing = {k: v for k, v in fields.items() if v is not None and getattr(txn, k) is None}
        if not missing:
            return False
        conditions = [getattr(PaymentTransaction, k).is_(None) for k in missing]
        if _compare_and_set(txn, conditions, {**missing, "updated_at": now}):
            detail = {"filled": sorted(missing)}
            _audit(txn, "enrichment", PaymentStatus(txn.status), source, detail, now)
            db.session.flush()
            return True
    return False


def record_conflict(
    txn: PaymentTransaction,
    reported: PaymentStatus,
    *,
    source: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """An upstream report that contradicts a settled status: counted, kept and announced
    (`<resource>.conflict`), never applied."""
    db.session.execute(
        update(PaymentTransaction)
        .where(PaymentTransaction.id == txn.id)
        .values(conflicts=PaymentTransaction.conflicts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(txn)
    event = PaymentEvent(
        payment_id=txn.id,
        tenant_id=txn.tenant_id,
        kind="conflict",
        from_status=txn.status,
        to_status=reported.value,
        source=source,
        detail=detail,
        created_at=now,
    )
    db.session.add(event)
    announcements.announce(txn, announcements.CONFLICT, now, reported_status=reported.value)
    db.session.flush()


def record_created(txn: PaymentTransaction, source: str = "api") -> None:
    _audit(txn, "created", None, source, None, txn.created_at)


def record_reported(txn: PaymentTransaction, source: str = "callback") -> None:
    """A transaction the upstream reported into being (an incoming C2B payment): its created
    event and the merchant's announcement, in the caller's transaction. Its status must be the
    one its type is created in (lifecycle.CREATED_AS); the caller commits."""
    if txn.status != lifecycle.created_as(txn.transaction_type):
        raise ValueError(f"a {txn.transaction_type} is not created {txn.status}")
    _audit(txn, "created", None, source, None, txn.created_at)
    announcements.announce(txn, announcements.RECEIVED, txn.created_at)
    db.session.flush()


def _audit(
    txn: PaymentTransaction,
    kind: str,
    previous: PaymentStatus | None,
    source: str,
    detail: dict[str, Any] | None,
    now: datetime,
) -> None:
    db.session.add(
        PaymentEvent(
            payment_id=txn.id,
            tenant_id=txn.tenant_id,
            kind=kind,
            from_status=previous.value if previous else None,
            to_status=txn.status,
            source=source,
            detail=detail,
            created_at=now,
        )
    )
