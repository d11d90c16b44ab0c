"""What waits for an operator, and the operator's answers.

Waiting: operations held in `review` (a success whose evidence did not check out, or one
reconciliation gave up on), and operations with conflicts nobody has acknowledged yet (an
upstream report contradicted a settled status; `record_conflict` counts it, applies nothing).
A conflict is acknowledged by a `reviewed` event: the payment waits again only when a conflict
event newer than its latest `reviewed` event arrives (no column for it: the audit says it).

Answers: confirm by query (ask the upstream now and let a decided answer settle the review),
resolve a review as completed or failed, acknowledge conflicts. Each writes audit rows naming
who asked (their address), and none applies twice: resolving goes through the transition's
compare-and-set, an acknowledgement locks the payment row before it looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from apg.extensions import db
from apg.payments import ports
from apg.payments.evidence import describe, evidence_problems
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentEvent
from apg.payments.models import PaymentTransaction as Txn
from apg.payments.operations import operation_of
from apg.payments.service import Payments

SOURCE = "ops"
REVIEWED = "reviewed"  # PaymentEvent.kind: the conflicts so far were looked at
OPERATOR = "operator"  # PaymentEvent.kind: what an operator asked for, and from where
# Decided answers that say no money moved: a review they answer is resolved as failed.
NO_MONEY = frozenset({PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.TIMEOUT})
# The lifecycle whose query answers at once (STK Query); the others' Results come by callback.
ANSWERS_BY_QUERY = "prompt"


@dataclass(frozen=True)
class Held:
    """One operation waiting for an operator: `kind` is "review" or "conflict"."""

    kind: str
    id: str
    tenant_id: str
    transaction_type: str
    status: str
    amount: int | None
    currency: str
    reason: str | None
    conflicts: int
    updated_at: datetime
    confirmable: bool  # a query can settle it now (its upstream answers synchronously)


@dataclass(frozen=True)
class Confirmation:
    """What a confirm-by-query did: `resolved` is the status it settled the review as, or
    None when the answer decided nothing (`message` says why, for the operator)."""

    resolved: PaymentStatus | None
    message: str


def held(payments: Payments, limit: int) -> list[Held]:
    """Up to `limit` operations in review and up to `limit` with unacknowledged conflicts,
    each newest change first."""
    reviews = db.session.execute(
        select(Txn)
        .where(Txn.status == PaymentStatus.REVIEW.value)
        # the (status, created_at) index finds them; few are in review at once
        .order_by(Txn.updated_at.desc())
        .limit(limit)
    ).scalars()
    conflicts = db.session.execute(
        select(Txn)
        .where(Txn.conflicts > 0, _unacknowledged())
        .order_by(Txn.updated_at.desc())
        .limit(limit)
    ).scalars()
    return [_held("review", txn, payments) for txn in reviews] + [
        _held("conflict", txn, payments) for txn in conflicts
    ]


def confirm_by_query(payments: Payments, payment_id: str, *, actor: str | None) -> Confirmation:
    """Ask the upstream about a payment in review and settle it by a decided answer: a success
    (whose evidence checks out) as completed, a no-money answer as failed, through
    Payments.resolve. Anything else changes nothing and is recorded. No transaction is open
    while the upstream answers. Raises LookupError (no such payment) or ValueError (not in
    review, or its upstream's answer comes by callback only)."""
    txn = _in_review(payment_id)
    if not _confirmable(payments, txn):
        raise ValueError(
            f"a {txn.transaction_type}'s status comes by callback; a query cannot settle it now"
        )
    operation = operation_of(txn)
    db.session.commit()  # end the read: hold no transaction while the upstream answers
    answer = payments.registry.get(txn.processor).query(operation)
    if not isinstance(answer, ports.Outcome):
        return _unsettled(payments, txn, actor, f"no decision: {describe(answer)}")
    said = f"{answer.status} ({answer.result_code} {answer.result_desc})"
    if answer.status in NO_MONEY:
        target = PaymentStatus.FAILED
    elif answer.status == PaymentStatus.COMPLETED:
        problems = _success_problems(payments, txn, answer)
        if problems:
            why = f"the query says {said}, but {'; '.join(problems)}"
            return _unsettled(payments, txn, actor, why)
        target = PaymentStatus.COMPLETED
    else:
        return _unsettled(payments, txn, actor, f"no decision: the query says {said}")
    note = f"confirmed by query: {answer.result_code} {answer.result_desc}"
    resolve(payments, payment_id, target, note, actor=actor, action="confirm_by_query")
    return Confirmation(target, f"{payment_id} is now {target}: {note}")


def resolve(
    payments: Payments,
    payment_id: str,
    status: PaymentStatus,
    note: str,
    *,
    actor: str | None,
    action: str = "resolve",
) -> Txn:
    """Payments.resolve, with a row saying who asked in the same transaction: kept only when
    the move is made (a second submission finds the payment settled: ValueError, nothing
    written)."""
    txn = _in_review(payment_id)
    detail = {"action": action, "note": note}
    db.session.add(_audit(txn, status, detail, actor, payments.clock.now()))
    try:
        return payments.resolve(payment_id, status, note)
    except Exception:
        db.session.rollback()
        raise


def mark_conflicts_reviewed(
    payments: Payments, payment_id: str, note: str, *, actor: str | None
) -> bool:
    """Acknowledge the payment's conflicts so far (a `reviewed` event); False when there was
    nothing new to acknowledge (e.g. a second submission). Raises LookupError."""
    # A no-op UPDATE first: it locks the row (the database, on SQLite) until the commit, so
    # two submissions cannot both see the conflicts unacknowledged and both record it.
    db.session.execute(
        update(Txn)
        .where(Txn.id == payment_id)
        .values(conflicts=Txn.conflicts)
        .execution_options(synchronize_session=False)
    )
    txn = db.session.get(Txn, payment_id, populate_existing=True)
    if txn is None:
        db.session.rollback()
        raise LookupError(f"no payment {payment_id}")
    if (
        not txn.conflicts
        or not db.session.execute(
            select(Txn.id).where(Txn.id == payment_id, _unacknowledged())
        ).first()
    ):
        db.session.rollback()
        return False
    detail = {"note": note, "conflicts": txn.conflicts}
    now = payments.clock.now()
    db.session.add(_audit(txn, PaymentStatus(txn.status), detail, actor, now, kind=REVIEWED))
    db.session.commit()
    return True


def _unacknowledged() -> Any:
    """The payment (correlated) has a conflict event newer than its latest `reviewed` one."""
    conflict, reviewed = _latest_event("conflict"), _latest_event(REVIEWED)
    return or_(reviewed.is_(None), reviewed < conflict)


def _latest_event(kind: str) -> Any:
    return (
        select(func.max(PaymentEvent.id))
        .where(PaymentEvent.payment_id == Txn.id, PaymentEvent.kind == kind)
        .correlate(Txn)
        .scalar_subquery()
    )


def _success_problems(payments: Payments, txn: Txn, answer: ports.Outcome) -> list[str]:
    """Why a success the query reports cannot complete `txn`: its own evidence (when it
    carries any) or the processor's cross-check disagree, or what the earlier report recorded
    disagrees with the amount asked for."""
    processor = payments.registry.get(txn.processor)
    problems = [*processor.cross_check(operation_of(txn), answer)]
    problems += evidence_problems(txn, answer) if answer.settles else []
    if txn.paid_amount is not None and txn.amount is not None and txn.paid_amount != txn.amount:
        problems.append(f"{txn.paid_amount} was reported paid, not the {txn.amount} asked for")
    return problems


def _unsettled(payments: Payments, txn: Txn, actor: str | None, why: str) -> Confirmation:
    """The answer settles nothing: recorded (what was asked, what came back), nothing moved."""
    detail = {"action": "confirm_by_query", "answer": why}
    now = payments.clock.now()
    db.session.add(_audit(txn, PaymentStatus(txn.status), detail, actor, now))
    db.session.commit()
    return Confirmation(None, f"{txn.id} is unchanged: {why}")


def _in_review(payment_id: str) -> Txn:
    txn = db.session.get(Txn, payment_id, populate_existing=True)
    if txn is None:
        raise LookupError(f"no payment {payment_id}")
    if txn.status != PaymentStatus.REVIEW:
        raise ValueError(f"payment {payment_id} is {txn.status}, not in review")
    return txn


def _confirmable(payments: Payments, txn: Txn) -> bool:
    processor = payments.registry.get(txn.processor)
    return processor.lifecycles.get(txn.transaction_type) == ANSWERS_BY_QUERY


def _held(kind: str, txn: Txn, payments: Payments) -> Held:
    return Held(
        kind=kind,
        id=txn.id,
        tenant_id=txn.tenant_id,
        transaction_type=txn.transaction_type,
        status=txn.status,
        amount=txn.amount,
        currency=txn.currency,
        reason=txn.status_reason,
        conflicts=txn.conflicts,
        updated_at=txn.updated_at,
        confirmable=kind == "review" and _confirmable(payments, txn),
    )


def _audit(
    txn: Txn,
    to: PaymentStatus,
    detail: dict[str, Any],
    actor: str | None,
    now: datetime,
    *,
    kind: str = OPERATOR,
) -> PaymentEvent:
    return PaymentEvent(
        payment_id=txn.id,
        tenant_id=txn.tenant_id,
        kind=kind,
        from_status=txn.status,
        to_status=to.value,
        source=SOURCE,
        detail={**detail, "remote_addr": actor},
        created_at=now,
    )
