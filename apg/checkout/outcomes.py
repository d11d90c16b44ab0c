"""What happens to a checkout session when money moves, or when it runs out: completed by the
first payment that pays it (a prompt, or a Paybill/QR payment naming its account number),
released for a retry when a prompt fails, expired when its time is up with no prompt out.
Each move is one guarded UPDATE in the transaction of the payment's own move, with its outbox
row: `checkout_session.completed` / `checkout_session.expired` reach merchant webhooks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from apg.checkout.models import COMPLETED, EXPIRED, OPEN, CheckoutSession
from apg.checkout.service import SESSION_KEY
from apg.clock import Clock
from apg.extensions import db
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import OutboxEvent, PaymentTransaction

log = logging.getLogger(__name__)

PROMPT, INCOMING = "stk_push", "c2b_payment"
# A prompt that ended like this leaves the customer free to try again.
RETRYABLE = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.TIMEOUT})


def as_dict(session: CheckoutSession, url: str | None = None) -> dict[str, Any]:
    """The session as the API shows it (`url` only while it is open); its events carry the
    same, times in ISO 8601 (`payload`)."""
    return {
        "id": session.id,
        "object": "checkout_session",
        "url": url if session.status == OPEN else None,
        "status": session.status,
        "amount": session.amount,
        "currency": session.currency,
        "reference": session.reference,
        "description": session.description,
        "phone_number": session.phone_number,
        "account_number": session.account_number,
        "success_url": session.success_url,
        "cancel_url": session.cancel_url,
        "payment_id": session.payment_id,
        "attempts": session.attempts,
        "metadata": session.metadata_,
        "expires_at": session.expires_at,
        "created_at": session.created_at,
        "completed_at": session.completed_at,
        "expired_at": session.expired_at,
    }


class SessionListener:
    """EventApplier.moved_listeners (and an operator's resolution): called with each payment
    an upstream report or an operator moved, in that move's transaction."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def __call__(self, txn: PaymentTransaction, source: str) -> None:
        session = self._session_of(txn)
        if session is None:
            return
        if txn.status == PaymentStatus.COMPLETED:
            self._complete(session, txn)
        elif txn.transaction_type == PROMPT and txn.status in RETRYABLE:
            self._release(session, txn)

    def _session_of(self, txn: PaymentTransaction) -> CheckoutSession | None:
        if txn.transaction_type == PROMPT:
            session_id = (txn.metadata_ or {}).get(SESSION_KEY)
            if not session_id:
                return None
            where = [CheckoutSession.id == session_id]
        elif txn.transaction_type == INCOMING and txn.reference:
            # A Paybill payment names it by account number (BillRefNumber), typed by hand.
            where = [CheckoutSession.account_number == txn.reference.strip().upper()]
        else:
            return None
        return db.session.execute(
            select(CheckoutSession).where(CheckoutSession.tenant_id == txn.tenant_id, *where)
        ).scalar_one_or_none()

    def _complete(self, session: CheckoutSession, txn: PaymentTransaction) -> None:
        problem = _mismatch(session, txn)
        if problem:
            log.warning("checkout %s: payment %s does not pay it: %s", session.id, txn.id, problem)
            return
        now = self.clock.now()
        done = db.session.execute(
            update(CheckoutSession)
            .where(CheckoutSession.id == session.id, CheckoutSession.status == OPEN)
            .values(status=COMPLETED, payment_id=txn.id, paying=False, completed_at=now)
            .values(updated_at=now)
            .returning(CheckoutSession.id)
            .execution_options(synchronize_session=False)
        ).scalar()
        if done is None:  # paid already (or expired): this money is a second payment
            log.warning(
                "checkout %s is %s: payment %s is not its payment (refund it if it is a"
                " second payment for the same order)",
                session.id,
                session.status,
                txn.id,
            )
            return
        db.session.refresh(session)
        announce(session, "completed", now)

    def _release(self, session: CheckoutSession, txn: PaymentTransaction) -> None:
        """The prompt failed: the customer may try again (only if it is the current one)."""
        attempt = (txn.idempotency_key or "").rpartition(":")[2]
        if not attempt.isdigit():
            return
        db.session.execute(
            update(CheckoutSession)
            .where(
                CheckoutSession.id == session.id,
                CheckoutSession.status == OPEN,
                CheckoutSession.attempts == int(attempt),
            )
            .values(paying=False, attempt_payment_id=txn.id, updated_at=self.clock.now())
            .execution_options(synchronize_session=False)
        )


def _mismatch(session: CheckoutSession, txn: PaymentTransaction) -> str | None:
    paid = txn.paid_amount if txn.paid_amount is not None else txn.amount
    if paid != session.amount:
        return f"it paid {paid}, the session asks {session.amount}"
    if txn.account_id != session.account_id:
        return "it was paid to another account"
    return None


def expire_due(now: datetime, batch: int = 500, only: str | None = None) -> int:
    """Expire open sessions past their time with no prompt out (a prompt out may still be
    paid: its session expires after the prompt fails); `only`: that session alone (the page
    that found it due). Returns how many."""
    due = [
        CheckoutSession.status == OPEN,
        CheckoutSession.expires_at <= now,
        CheckoutSession.paying.is_(False),
    ]
    if only is not None:
        due.append(CheckoutSession.id == only)
    expired = db.session.execute(
        update(CheckoutSession)
        .where(
            *due,
            CheckoutSession.id.in_(
                select(CheckoutSession.id)
                .where(*due)
                .order_by(CheckoutSession.expires_at)
                .limit(batch)
                .scalar_subquery()
            ),
        )
        .values(status=EXPIRED, expired_at=now, updated_at=now)
        .returning(CheckoutSession.id)
        .execution_options(synchronize_session=False)
    ).scalars()
    ids = list(expired)
    fresh = select(CheckoutSession).where(CheckoutSession.id.in_(ids))
    for session in db.session.execute(fresh.execution_options(populate_existing=True)).scalars():
        announce(session, "expired", now)
    db.session.commit()
    return len(ids)


def announce(session: CheckoutSession, what: str, now: datetime) -> None:
    db.session.add(
        OutboxEvent(
            tenant_id=session.tenant_id,
            account_id=session.account_id,
            payment_id=session.payment_id,
            type=f"checkout_session.{what}",
            payload=payload(session),
            created_at=now,
        )
    )


def payload(session: CheckoutSession) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in as_dict(session).items()
    }
