"""What reconciliation's questions are answered with, and what each answer does.

An STK Query that decides nothing is evidence (`describe`). M-Pesa answers Transaction Status
by Result, so reconciliation asks about a stuck payout, B2B payment or reversal with a
`transaction_status` operation of its own (recorded and listed like any, its Result found by
its own refs) whose request names the operation it `reconciles`. Once its Result is applied to
the query, it is applied here to that operation: "Completed" with a receipt and amount
completes it (as evidence: a wrong amount is review); any other state (Reversed…) is review;
"not found" decides nothing (M-Pesa says it of requests still queued).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from apg.extensions import db
from apg.payments import ports, transitions
from apg.payments.events import EventApplier, Verdict
from apg.payments.evidence import describe as describe  # reconciliation reads it here
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction as Txn
from apg.payments.operations import NewPayment, operation_of

log = logging.getLogger(__name__)

SOURCE = "reconcile"  # the audit's source of every move reconciliation makes
# The inquiry that asks about another operation, what it asks by, and its word for "went
# through" (field names are APG's, as the transaction-status-queries API shows them).
STATUS_QUERY = "transaction_status"
ORIGINATOR = "originator_conversation_id"
RECONCILES = "reconciles"
WENT_THROUGH = "Completed"


def new_status_query(txn: Txn, method_type: str, originator: str) -> NewPayment:
    """The Transaction Status query about `txn`, by its OriginatorConversationID, asked by the
    account that carried it."""
    return NewPayment(
        amount=None,
        currency=txn.currency,
        phone_number=None,
        reference="",
        payment_method_type=method_type,
        details={"original_conversation_id": originator, RECONCILES: txn.id},
        account_id=txn.account_id,
    )


def status_queries(txn: Txn) -> list[Txn]:
    """The Transaction Status queries asked about `txn`, newest first."""
    about = Txn.processor_data[("request", RECONCILES)].as_string()
    return list(
        db.session.execute(
            select(Txn)
            .where(
                Txn.tenant_id == txn.tenant_id,
                Txn.created_at >= txn.created_at,
                Txn.transaction_type == STATUS_QUERY,
                about == txn.id,
            )
            .order_by(Txn.created_at.desc(), Txn.id.desc())
        ).scalars()
    )


class StatusAnswerListener:
    """A reconciling Transaction Status query's Result, applied to the operation it asks about
    in the same transaction (an EventApplier.moved_listener); without it, the next look does."""

    def __init__(self, events: EventApplier) -> None:
        self.events = events

    def __call__(self, query: Txn, source: str) -> None:
        asked = ((query.processor_data or {}).get("request") or {}).get(RECONCILES)
        if query.transaction_type != STATUS_QUERY or not asked:
            return
        txn = db.session.execute(
            select(Txn).where(Txn.id == asked, Txn.tenant_id == query.tenant_id)
        ).scalar_one_or_none()
        if txn is not None:
            apply_found(self.events, txn, query)


def apply_found(events: EventApplier, txn: Txn, query: Txn) -> str | None:
    """What a Transaction Status query found, applied to the operation it asked about: its
    receipt and amount complete it (as evidence: checked), any state but Completed is review.
    None when the query found nothing (yet)."""
    found = (query.processor_data or {}).get("result") or {}
    state = found.get("transaction_status")
    if query.status != PaymentStatus.COMPLETED or not state:
        return None
    if state != WENT_THROUGH:
        if PaymentStatus(txn.status).is_final and txn.status != PaymentStatus.TIMEOUT:
            log.warning("%s is %s; status query %s says %s", txn.id, txn.status, query.id, state)
            return Verdict.DUPLICATE
        why = f"Transaction Status query {query.id} says the transaction is {state}"
        return review(txn, why, events.clock.now())
    outcome = ports.Outcome(
        status=PaymentStatus.COMPLETED,
        result_code="0",
        result_desc=f"Completed, by Transaction Status query {query.id}",
        receipt=found.get("receipt_no"),
        amount=found.get("amount"),
        transaction_date=_moment(found.get("finalised_time")),
        settles=True,
        detail={**found, "status_query_id": query.id},
    )
    return events.apply_outcome(txn, outcome, SOURCE, mismatches=_mismatches(events, txn, outcome))


def _mismatches(events: EventApplier, txn: Txn, found: ports.Outcome) -> tuple[str, ...]:
    """What `txn`'s processor finds the found transaction names otherwise than `txn` (its
    payee, its payer…). The query's own Result was cross-checked against the query (the
    transaction asked about, its receipt's shape) when applied; this needs the processor
    that Result was handed in with, which the listener always has (apply_event's own)."""
    processor = events.processors.get(txn.processor)
    if processor is None:
        log.info("%s: no %s processor at hand to cross-check parties", txn.id, txn.processor)
        return ()
    return tuple(processor.cross_check(operation_of(txn), found))


def review(txn: Txn, why: str, now: datetime) -> str:
    """Hold `txn` for an operator, saying why; never failed where money may have moved."""
    reason = f"reconciliation: {why}; money may have moved: check the M-Pesa statement"
    fields = {"status_reason": reason[:255]}
    detail = {"evidence": why}
    moved = transitions.transition(
        txn, PaymentStatus.REVIEW, source=SOURCE, now=now, fields=fields, detail=detail
    )
    if moved:
        log.warning("payment %s held for review: %s", txn.id, why)
    return Verdict.REVIEW if moved else Verdict.DUPLICATE


def answer_text(query: Txn) -> str:
    """A Transaction Status query that found nothing, as evidence."""
    if (query.processor_data or {}).get("result") is not None:
        return f"Transaction Status query {query.id}: {query.result_code} {query.result_desc}"
    return f"Transaction Status query {query.id} is {query.status}: {query.status_reason}"


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
