"""Apply upstream reports: move, enrich, review or conflict; record unasked money; validate.

A report's evidence is checked before it settles anything (payments.evidence); a success the
processor wants confirmed completes only once its query agrees (`needs_confirmation`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from apg.clock import Clock
from apg.extensions import db
from apg.logs import current_operation
from apg.payments import collections as rules
from apg.payments import evidence, lifecycle, ports, transitions
from apg.payments import incoming as unasked
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction, ProcessorReference
from apg.payments.operations import operation_of, reference_row

log = logging.getLogger(__name__)
Types = tuple[str, ...]


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
    # A success waiting for its confirmation by query ("received:<why>"): stored as a callback
    # not yet applied, which the callback sweep processes again (and asks again).
    UNCONFIRMED = "received"


class EventApplier:
    def __init__(
        self, clock: Clock, processors: Mapping[str, ports.Processor] | None = None
    ) -> None:
        self.clock = clock
        # Called, in the same DB transaction, after a report or an operator moved a transaction
        # (or recorded unasked money): a reversal moves what it reverses (payments.reversals).
        self.moved_listeners: list[Callable[[PaymentTransaction, str], None]] = []
        # By name, the processors reports are handed in with (apply_event records its own): a
        # listener applying what a report said about another operation cross-checks it with
        # that operation's processor (see reconcile_answers.apply_found).
        self.processors: dict[str, ports.Processor] = dict(processors or {})

    def apply_event(
        self, tenant_id: str, processor: ports.Processor, event: ports.ProcessorEvent
    ) -> tuple[str, str | None]:
        """Find the tenant's transaction by any of the event's refs and apply its outcome; record
        incoming money no transaction has yet; answer a validation by the account's rules.

        Its processor cross-checks any outcome against its transaction first: one naming
        another payer, payee or account goes to review. Returns (verdict, transaction id or
        None). Joins the caller's transaction (the caller commits), except when a success must
        be confirmed by query: that commits first (see _apply_confirmed)."""
        if event.validation is not None:
            account_id = processor.account_by_number(tenant_id, event.validation.account_number)
            return rules.decide(tenant_id, account_id, event.validation), None
        self.processors[processor.name] = processor
        txn = self.find(tenant_id, processor.name, event.refs, event.reports_on)
        if txn is None and event.incoming is not None:
            return self.record_incoming(tenant_id, processor, event.refs, event.incoming)
        if txn is None:
            return Verdict.UNMATCHED, None
        current_operation.set(txn.id)  # the callback's log lines name it from here on
        if event.incoming is not None:
            return self._reported_again(txn, processor, event.incoming), txn.id
        if event.outcome is None:
            return Verdict.DUPLICATE, txn.id
        outcome, mismatches = event.outcome, evidence.cross_checked(txn, event.outcome, processor)
        if self._needs_confirmation(txn, processor, outcome, mismatches):
            return self._apply_confirmed(txn, processor, outcome), txn.id
        return self.apply_outcome(txn, outcome, source="callback", mismatches=mismatches), txn.id

    def find(
        self, tenant_id: str, processor: str, refs: tuple[ports.Ref, ...], types: Types = ()
    ) -> PaymentTransaction | None:
        """The tenant's transaction one of `refs` names (of one of `types`, if any given)."""
        of_types = (PaymentTransaction.transaction_type.in_(types),) if types else ()
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
                    *of_types,
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
            why = "not one of its accounts" if account_id is None else "no refs"
            kind, number = incoming.transaction_type, incoming.account_number
            log.warning(
                "tenant %s: incoming %s to %s kept unmatched (%s)", tenant_id, kind, number, why
            )
            return Verdict.UNMATCHED, None
        if incoming.problems:  # nothing to hold but the report: recorded as nothing
            log.warning("tenant %s: incoming %s held: %s", tenant_id, refs, incoming.problems)
            return Verdict.REVIEW, None
        now = self.clock.now()
        if (
            paid := unasked.paid_with(tenant_id, processor.name, incoming.receipt, now)
        ) is not None:
            if problems := evidence.incoming_problems(paid, incoming, account_id):
                return self._hold(paid, problems, source="callback"), paid.id
            with contextlib.suppress(IntegrityError), db.session.begin_nested():
                unasked.insert([reference_row(paid, ref, now) for ref in refs])
            return Verdict.DUPLICATE, paid.id
        txn = unasked.payment(tenant_id, processor.name, account_id, incoming, now)
        try:
            with db.session.begin_nested():  # all of it, or none when a copy got there first
                unasked.insert([txn], [reference_row(txn, ref, now) for ref in refs])
                transitions.record_reported(txn)
        except IntegrityError:
            found = self.find(tenant_id, processor.name, refs)
            if found is None:
                log.warning("tenant %s: incoming %s has another tenant's refs", tenant_id, refs)
            return Verdict.DUPLICATE, found.id if found else None
        self.moved(txn, "callback")  # into being: e.g. it may pay a checkout session
        return Verdict.CREATED, txn.id

    def apply_outcome(
        self,
        txn: PaymentTransaction,
        outcome: ports.Outcome,
        source: str,
        *,
        mismatches: tuple[str, ...] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> str:
        """Apply at most once. A success whose evidence fails goes to review, never completed;
        so does any report whose processor found it `mismatches` the operation. `detail` joins
        the audit row of the move."""
        now = self.clock.now()
        problems = [*mismatches, *evidence.evidence_problems(txn, outcome)]
        target = PaymentStatus.REVIEW if problems else outcome.status
        fields = _fields(txn, outcome, "; ".join(problems) if problems else None)
        audit = {**(detail or {}), **({"problems": problems} if problems else {})}
        if transitions.transition(
            txn, target, source=source, now=now, fields=fields, detail=audit or None
        ):
            if problems:
                log.warning("payment %s held for review: %s", txn.id, "; ".join(problems))
            self.moved(txn, source)
            return Verdict.REVIEW if problems else Verdict.APPLIED
        if evidence.settles_as_success(outcome) and txn.status == PaymentStatus.COMPLETED:
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

    def _hold(self, txn: PaymentTransaction, problems: list[str], source: str) -> str:
        """Hold `txn` for review, saying why. Where its lifecycle has no review from where it
        is (money reported into being), the report is a recorded conflict instead."""
        now, reason = self.clock.now(), "; ".join(problems)
        fields, detail = {"status_reason": reason[:255]}, {"problems": problems}
        if transitions.transition(
            txn, PaymentStatus.REVIEW, source=source, now=now, fields=fields, detail=detail
        ):
            log.warning("payment %s held for review: %s", txn.id, reason)
            self.moved(txn, source)
            return Verdict.REVIEW
        if txn.status != PaymentStatus.COMPLETED:
            return Verdict.DUPLICATE  # already in review, or settled as no money at all
        transitions.record_conflict(
            txn, PaymentStatus.COMPLETED, source=source, detail=detail, now=now
        )
        log.warning("payment %s: conflict: reported again as %s", txn.id, reason)
        return Verdict.CONFLICT

    def moved(self, txn: PaymentTransaction, source: str) -> None:
        for listener in self.moved_listeners:
            listener(txn, source)

    def _reported_again(
        self, txn: PaymentTransaction, processor: ports.Processor, incoming: ports.Incoming
    ) -> str:
        """Money found again by its refs: a copy that agrees is a duplicate; one that does not
        holds the payment it was recorded as."""
        account_id = processor.account_by_number(txn.tenant_id, incoming.account_number)
        problems = evidence.incoming_problems(txn, incoming, account_id)
        return self._hold(txn, problems, source="callback") if problems else Verdict.DUPLICATE

    def _needs_confirmation(
        self,
        txn: PaymentTransaction,
        processor: ports.Processor,
        outcome: ports.Outcome,
        mismatches: tuple[str, ...],
    ) -> bool:
        """A success that would complete `txn` with evidence that checks out (else it goes to
        review as it is), of an operation its processor wants confirmed by query."""
        completes = evidence.settles_as_success(outcome) and lifecycle.allows(
            txn.transaction_type, PaymentStatus(txn.status), PaymentStatus.COMPLETED
        )
        return (
            completes
            and processor.needs_confirmation(operation_of(txn))
            and not mismatches
            and not evidence.evidence_problems(txn, outcome)
        )

    def _apply_confirmed(
        self, txn: PaymentTransaction, processor: ports.Processor, outcome: ports.Outcome
    ) -> str:
        """The processor's query first: it agrees, the success is applied; it says otherwise,
        review (a contradiction: nothing credited); undecided or unreachable, nothing yet
        (UNCONFIRMED: asked again later). Commits first: nothing is held open meanwhile."""
        operation = operation_of(txn)
        db.session.commit()
        answer = processor.query(operation)
        if not isinstance(answer, ports.Outcome):
            why = f"awaiting confirmation by query: {evidence.describe(answer)}"
            log.info("payment %s: success %s", operation.id, why)
            return f"{Verdict.UNCONFIRMED}:{why}"
        asked = {"confirmed_by_query": answer.status.value, "query_result_code": answer.result_code}
        if answer.status == PaymentStatus.COMPLETED:
            return self.apply_outcome(txn, outcome, "callback", detail=asked)
        says = f"the query says it is {answer.status} ({answer.result_code} {answer.result_desc})"
        return self.apply_outcome(txn, outcome, "callback", mismatches=(says,), detail=asked)

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
