"""Apply upstream reports: move, enrich, review or conflict; record unasked money; validate."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from apg.clock import Clock
from apg.dbtypes import new_id
from apg.extensions import db
from apg.payments import collections as rules
from apg.payments import lifecycle, ports, queries, transitions
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction, ProcessorReference
from apg.payments.operations import reference_row

log = logging.getLogger(__name__)

# How far back money reported again (by another product's callback) is looked for by receipt;
# once found, its refs are added, so any later copy is found by them.
SAME_MONEY_WINDOW = timedelta(days=3)


class Verdict:
    """What applying a report did; callers store it on the raw callback row."""

    APPLIED = "applied"  # moved the payment
    REVIEW = "review"  # moved it to review: the evidence did not check out
    ENRICHED = "enriched"  # filled in the receipt, amount or date; status unchanged
    DUPLICATE = "duplicate"  # said nothing new
    CONFLICT = "conflict"  # contradicts a settled status; recorded, not applied
    UNMATCHED = "unmatched"  # no transaction (yet) has these refs
    CREATED = "created"  # recorded money that arrived unasked (an incoming C2B payment)
    # A validation's answer; a rejection carries its reason: "rejected:invalid_amount".
    ACCEPTED = rules.ACCEPTED
    REJECTED = rules.REJECTED


class EventApplier:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # Called, in the same DB transaction, after an upstream report moved a transaction:
        # e.g. a confirmed reversal moves the payment it reverses (see payments.reversals).
        self.moved_listeners: list[Callable[[PaymentTransaction, str], None]] = []

    def apply_event(
        self, tenant_id: str, processor: ports.Processor, event: ports.ProcessorEvent
    ) -> tuple[str, str | None]:
        """Find the tenant's transaction by any of the event's refs and apply its outcome; record
        incoming money no transaction has yet; answer a validation by the account's rules.

        Returns (verdict, transaction id or None). Joins the caller's transaction; the caller
        commits with its own rows.
        """
        if event.validation is not None:
            account_id = processor.account_by_number(tenant_id, event.validation.account_number)
            return rules.decide(tenant_id, account_id, event.validation), None
        txn = self.find(tenant_id, processor.name, event.refs)
        if txn is None and event.incoming is not None:
            return self.record_incoming(tenant_id, processor, event.refs, event.incoming)
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

    def record_incoming(
        self,
        tenant_id: str,
        processor: ports.Processor,
        refs: tuple[ports.Ref, ...],
        incoming: ports.Incoming,
    ) -> tuple[str, str | None]:
        """Record money that arrived unasked, exactly once, into an account of the tenant's own
        (money paid to a number the tenant does not own stays unmatched). Its refs are unique:
        a concurrent copy of the same report fails its insert and is a duplicate."""
        account_id = processor.account_by_number(tenant_id, incoming.account_number)
        if account_id is None or not refs:  # no refs: nothing could tell a copy from new money
            log.warning(
                "tenant %s: incoming %s to %s kept unmatched (%s)",
                tenant_id,
                incoming.transaction_type,
                incoming.account_number,
                "not one of its accounts" if account_id is None else "no refs",
            )
            return Verdict.UNMATCHED, None
        if (paid := self._paid_with(tenant_id, processor.name, incoming.receipt)) is not None:
            with contextlib.suppress(IntegrityError), db.session.begin_nested():
                _insert([reference_row(paid, ref, self.clock.now()) for ref in refs])
            return Verdict.DUPLICATE, paid.id
        txn = _reported(tenant_id, processor.name, account_id, incoming, self.clock.now())
        try:
            with db.session.begin_nested():  # all of it, or none when a copy got there first
                _insert([txn], [reference_row(txn, ref, txn.created_at) for ref in refs])
                transitions.record_reported(txn)
        except IntegrityError:
            found = self.find(tenant_id, processor.name, refs)
            if found is None:
                log.warning("tenant %s: incoming %s has another tenant's refs", tenant_id, refs)
            return Verdict.DUPLICATE, found.id if found else None
        return Verdict.CREATED, txn.id

    def _paid_with(
        self, tenant_id: str, processor: str, receipt: str | None
    ) -> PaymentTransaction | None:
        """A recent collection already settled with this receipt: an STK Push to a paybill is
        confirmed to its C2B URL too (API.md §4.2), and must not count twice."""
        if not receipt:
            return None
        since = self.clock.now() - SAME_MONEY_WINDOW
        return (
            db.session.execute(
                select(PaymentTransaction).where(
                    PaymentTransaction.tenant_id == tenant_id,
                    PaymentTransaction.created_at >= since,  # the tenant/created index
                    PaymentTransaction.processor == processor,
                    PaymentTransaction.transaction_type.in_(queries.COLLECTIONS),
                    PaymentTransaction.receipt == receipt,
                )
            )
            .scalars()
            .first()
        )

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


def _insert(*batches: list[Any]) -> None:
    """Insert the rows, each batch flushed before the next (foreign keys)."""
    for rows in batches:
        db.session.add_all(rows)
        db.session.flush()


def _reported(
    tenant_id: str, processor: str, account_id: str, incoming: ports.Incoming, now: datetime
) -> PaymentTransaction:
    """The row of money that arrived unasked, in the status its type is created in."""
    status = lifecycle.created_as(incoming.transaction_type)
    return PaymentTransaction(
        id=new_id("pay"),
        tenant_id=tenant_id,
        transaction_type=incoming.transaction_type,
        processor=processor,
        account_id=account_id,
        payment_method_type=incoming.payment_method_type,
        amount=incoming.amount,
        paid_amount=incoming.amount,
        currency=incoming.currency,
        reference=incoming.reference,
        phone_number=incoming.phone_number,
        receipt=incoming.receipt,
        transaction_date=incoming.transaction_date,
        status=status.value,
        conflicts=0,
        processor_data={"result": dict(incoming.details)} if incoming.details else None,
        created_at=now,
        updated_at=now,
        finalized_at=now if status.is_final else None,
    )


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
