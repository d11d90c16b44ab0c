"""Apply what an upstream reports: transition, enrich, hold for review, or record a conflict."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from apg.clock import Clock
from apg.extensions import db
from apg.payments import lifecycle, ports, transitions
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction, ProcessorReference

log = logging.getLogger(__name__)


class Verdict:
    """What applying a report did; callers store it on the raw callback row."""

    APPLIED = "applied"  # moved the payment
    REVIEW = "review"  # moved it to review: the evidence did not check out
    ENRICHED = "enriched"  # filled in the receipt, amount or date; status unchanged
    DUPLICATE = "duplicate"  # said nothing new
    CONFLICT = "conflict"  # contradicts a settled status; recorded, not applied
    UNMATCHED = "unmatched"  # no transaction (yet) has these refs


class EventApplier:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # Called, in the same DB transaction, after an upstream report moved a transaction:
        # e.g. a confirmed reversal moves the payment it reverses (see payments.reversals).
        self.moved_listeners: list[Callable[[PaymentTransaction, str], None]] = []

    def apply_event(
        self, tenant_id: str, processor: str, event: ports.ProcessorEvent
    ) -> tuple[str, str | None]:
        """Find the tenant's transaction by any of the event's refs and apply its outcome.

        Returns (verdict, transaction id or None). Joins the caller's transaction; the caller
        commits with its own rows.
        """
        txn = self.find(tenant_id, processor, event.refs)
        if txn is None:
            return Verdict.UNMATCHED, None
        if event.outcome is None:
            return Verdict.DUPLICATE, txn.id
        return self.apply_outcome(txn, event.outcome, source="callback"), txn.id

    def find(
        self, tenant_id: str, processor: str, refs: tuple[ports.Ref, ...]
    ) -> PaymentTransaction | None:
        for ref in refs:
            txn = db.session.execute(
                select(PaymentTransaction)
                .join(
                    ProcessorReference, ProcessorReference.transaction_id == PaymentTransaction.id
                )
                .where(
                    ProcessorReference.processor == processor,
                    ProcessorReference.kind == ref.kind,
                    ProcessorReference.value == ref.value,
                    PaymentTransaction.tenant_id == tenant_id,
                )
            ).scalar_one_or_none()
            if txn is not None:
                return txn
        return None

    def apply_outcome(self, txn: PaymentTransaction, outcome: ports.Outcome, source: str) -> str:
        """Apply at most once. A success whose evidence fails goes to review, never completed."""
        now = self.clock.now()
        problems = evidence_problems(txn, outcome)
        target = PaymentStatus.REVIEW if problems else outcome.status
        fields = _fields(txn, outcome, "; ".join(problems) if problems else None)
        detail = {"problems": problems} if problems else None
        if transitions.transition(
            txn, target, source=source, now=now, fields=fields, detail=detail
        ):
            if problems:
                log.warning("payment %s held for review: %s", txn.id, "; ".join(problems))
            for listener in self.moved_listeners:
                listener(txn, source)
            return Verdict.REVIEW if problems else Verdict.APPLIED
        if outcome.settles and outcome.status == txn.status == PaymentStatus.COMPLETED:
            # Evidence that checks out, for a payment a query completed: fill it in. (Evidence
            # that does not check out already moved it to review above.)
            return self._enrich(txn, outcome, source)
        if lifecycle.contradicts(PaymentStatus(txn.status), outcome.status):
            conflict = {"result_code": outcome.result_code, "receipt": outcome.receipt}
            transitions.record_conflict(
                txn, outcome.status, source=source, detail=conflict, now=now
            )
            log.warning(
                "payment %s: conflict: %s reports %s but the payment is %s",
                txn.id,
                source,
                outcome.status,
                txn.status,
            )
            return Verdict.CONFLICT
        return Verdict.DUPLICATE

    def _enrich(self, txn: PaymentTransaction, outcome: ports.Outcome, source: str) -> str:
        """A completed payment (e.g. by a query) gets the receipt, date and paid amount."""
        filled = transitions.enrich(
            txn,
            {
                "receipt": outcome.receipt,
                "paid_amount": outcome.amount,
                "transaction_date": outcome.transaction_date,
            },
            source=source,
            now=self.clock.now(),
        )
        return Verdict.ENRICHED if filled else Verdict.DUPLICATE


def evidence_problems(txn: PaymentTransaction, outcome: ports.Outcome) -> list[str]:
    """Why a reported success cannot be trusted as it stands; empty when it checks out."""
    if outcome.status != PaymentStatus.COMPLETED or not outcome.settles:
        return []
    problems = list(outcome.problems)
    if not outcome.receipt:
        problems.append("receipt missing")
    if outcome.amount is None:
        if not any("amount" in p for p in problems):
            problems.append("amount missing")
    elif txn.amount is not None and outcome.amount != txn.amount:
        problems.append(f"amount {outcome.amount} does not match the {txn.amount} requested")
    return problems


def _fields(txn: PaymentTransaction, outcome: ports.Outcome, reason: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "result_code": outcome.result_code,
        "result_desc": (outcome.result_desc or "")[:255] or None,
        "status_reason": reason[:255] if reason else None,
    }
    if outcome.receipt:
        fields["receipt"] = outcome.receipt
    if outcome.amount is not None:
        fields["paid_amount"] = outcome.amount
    if outcome.transaction_date:
        fields["transaction_date"] = outcome.transaction_date
    if outcome.detail:  # beside what was asked ("request"), never over it
        fields["processor_data"] = {**(txn.processor_data or {}), "result": dict(outcome.detail)}
    return fields
