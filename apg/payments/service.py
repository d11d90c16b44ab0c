"""Payment use cases: initiate, read, list and refresh. Kind-agnostic; talks to ports only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from apg.clock import Clock
from apg.dbtypes import new_id
from apg.errors import (
    APGError,
    InvalidRequestError,
    OutcomeUnknownError,
    PaymentFailedError,
    UpstreamRejectedError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from apg.extensions import db
from apg.logs import current_operation
from apg.payments import ports, queries, transitions
from apg.payments.events import EventApplier
from apg.payments.lifecycle import PaymentStatus
from apg.payments.methods import payment_method
from apg.payments.models import PaymentMethod, PaymentTransaction
from apg.payments.operations import (
    NewPayment,
    account_refused,
    customer_busy,
    misconfigured,
    operation_of,
    processor_unavailable,
    rate_limited,
    reference_row,
)
from apg.payments.reconcile_answers import StatusAnswerListener
from apg.payments.registry import ProcessorRegistry
from apg.payments.reversals import ReversalListener
from apg.settings import PaymentSettings

log = logging.getLogger(__name__)


class Payments:
    """The payments domain's entry points. Built once per app with what varies injected."""

    def __init__(self, limits: PaymentSettings, clock: Clock, registry: ProcessorRegistry) -> None:
        self.limits = limits
        self.clock = clock
        self.registry = registry
        # The processors registered so far (every one, in create_app): what reconciliation's
        # answers about another operation are cross-checked with.
        self.events = EventApplier(clock, registry.all())
        self.events.moved_listeners.append(ReversalListener(clock))
        # A reconciling Transaction Status Result settles the operation it asked about at once.
        self.events.moved_listeners.append(StatusAnswerListener(self.events))
        # Called with each transaction once its processor refs are committed, so that callbacks
        # which raced ahead of that commit are applied at once (the webhooks inbox listens).
        self.refs_listeners: list[Callable[[PaymentTransaction], None]] = []

    def initiate(
        self,
        tenant_id: str,
        new: NewPayment,
        *,
        idempotency_key: str | None = None,
        key_mode: str | None = None,
    ) -> PaymentTransaction:
        """Record the payment, submit it, record the answer.

        The pending row (bound to the Idempotency-Key) commits before anything is sent, so a
        crash at any later point leaves a payment that a retry with the same key resolves to.
        `key_mode` (test | live) is the API key's: its accounts only (None, no key: any).
        """
        if new.amount is not None:
            self.check_amount(new.amount, new.currency)
        processor, transaction_type = self.registry.for_method(new.payment_method_type)
        try:
            account_id = processor.account_for(
                tenant_id, transaction_type, new.account_id, mode=key_mode
            )
        except ports.NoAccount as exc:
            raise account_refused(exc, new.account_id) from exc
        method = None
        if new.phone_number is not None:
            method = payment_method(tenant_id, new.phone_number, new.customer_id, self.clock.now())
        txn = self._record_pending(
            tenant_id, new, method, processor.name, transaction_type, account_id, idempotency_key
        )
        current_operation.set(txn.id)  # the request's log lines name it from here on
        operation = operation_of(txn, refs=())  # new: no refs, no lazy load
        try:
            stored = processor.refs_before_submit(operation)
            self._record_refs(txn, stored)
        except Exception as exc:  # nothing was sent: the payment fails, and says why
            db.session.rollback()
            log.exception("payment %s: preparing it failed", txn.id)
            self._fail(txn, None, None, reason="not sent: internal error before sending")
            raise APGError(payment=txn) from exc
        try:
            return self._record_answer(txn, processor.submit(operation), stored)
        except APGError:
            raise
        except Exception as exc:  # the push may have gone out: never release, never fail it
            db.session.rollback()
            log.exception("payment %s: submitting or recording the answer failed", txn.id)
            self._mark_unknown(txn, "internal error while submitting")
            raise OutcomeUnknownError(payment=txn) from exc

    def refresh(self, tenant_id: str, payment_id: str) -> PaymentTransaction:
        """Ask the upstream when still processing, and apply a decided answer."""
        txn = queries.get_payment(tenant_id, payment_id)
        if txn.status != PaymentStatus.PROCESSING:
            return txn
        processor = self.registry.get(txn.processor)
        operation = operation_of(txn)
        db.session.commit()  # end the read: hold no transaction while the upstream answers
        answer = processor.query(operation)
        match answer:
            case ports.Outcome():
                self.events.apply_outcome(txn, answer, source="query")
                db.session.commit()
            case ports.StillPending():
                pass
            case ports.Refused(throttled=True, retry_after_seconds=int() as wait):
                raise rate_limited(wait, daraja_code=answer.code, daraja_message=answer.message)
            case ports.Refused(code=code, message=message):
                raise UpstreamRejectedError(daraja_code=code, daraja_message=message)
            case ports.Misconfigured():
                raise misconfigured(txn.tenant_id, txn.account_id, answer)
            case ports.NotSent(retry_after_seconds=int() as wait):
                raise processor_unavailable(wait)
            case ports.NotSent(reason=reason):
                raise UpstreamUnavailableError(reason)
            case ports.Unknown(reason=reason):
                raise UpstreamTimeoutError(reason)
        return txn

    # --- recording ------------------------------------------------------------------------

    def _record_answer(
        self, txn: PaymentTransaction, answer: ports.SubmitResult, stored: tuple[ports.Ref, ...]
    ) -> Any:
        now = self.clock.now()
        match answer:
            case ports.Accepted(refs=refs):
                for ref in refs:
                    if ref not in stored:
                        db.session.add(reference_row(txn, ref, now))
                transitions.transition(txn, PaymentStatus.PROCESSING, source="api", now=now)
                db.session.commit()
                self._tell_listeners(txn)
                return txn
            case ports.Refused(throttled=True, retry_after_seconds=int() as wait):
                code, message = answer.code, answer.message
                self._fail(txn, code, message, reason="refused: the processor's rate limit")
                raise rate_limited(wait, txn, daraja_code=code, daraja_message=message)
            case ports.Refused(code=code, message=message, retry_after_seconds=int() as wait):
                self._fail(txn, code, message, reason="refused: the customer is busy")
                raise customer_busy(wait, daraja_code=code, daraja_message=message, payment=txn)
            case ports.Refused(code=code, message=message):
                self._fail(txn, code, message, reason="refused by the processor")
                raise PaymentFailedError(daraja_code=code, daraja_message=message, payment=txn)
            case ports.Misconfigured(setting=setting, code=code, message=message):
                self._fail(txn, code, message, reason=f"misconfigured: {setting}")
                raise misconfigured(txn.tenant_id, txn.account_id, answer, payment=txn)
            case ports.NotSent(reason=reason, retry_after_seconds=int() as wait):
                self._fail(txn, None, None, reason=f"not sent: {reason}")
                raise processor_unavailable(wait, txn)
            case ports.NotSent(reason=reason):
                self._fail(txn, None, None, reason=f"not sent: {reason}")
                raise UpstreamUnavailableError(payment=txn)
            case ports.Unknown(reason=reason, timed_out=timed_out):
                self._mark_unknown(txn, reason)
                raise OutcomeUnknownError(payment=txn, status=504 if timed_out else 502)
        raise TypeError(f"not a submit result: {answer!r}")

    def _record_refs(self, txn: PaymentTransaction, refs: tuple[ports.Ref, ...]) -> None:
        """Refs known before sending, committed before sending (never unique-clashing: they are
        the processor's ids for this transaction alone)."""
        if refs:
            now = self.clock.now()
            db.session.add_all(reference_row(txn, ref, now) for ref in refs)
            db.session.commit()

    def _tell_listeners(self, txn: PaymentTransaction) -> None:
        """The payment is safely recorded: a listener's failure must not turn it into an error
        (whatever it missed, the callback sweep picks up)."""
        for listener in self.refs_listeners:
            try:
                listener(txn)
            except Exception:
                db.session.rollback()
                log.exception("payment %s: a refs listener failed", txn.id)

    def resolve(self, payment_id: str, status: PaymentStatus, note: str) -> PaymentTransaction:
        """An operator's decision on a payment in review (completed or failed), audited."""
        txn = db.session.get(PaymentTransaction, payment_id)
        if txn is None:
            raise LookupError(f"no payment {payment_id}")
        if txn.status != PaymentStatus.REVIEW:
            raise ValueError(f"payment {payment_id} is {txn.status}, not in review")
        moved = transitions.transition(
            txn,
            status,
            source="ops",
            now=self.clock.now(),
            fields={"status_reason": f"resolved by an operator: {note}"[:255]},
            detail={"note": note},
            operator=True,
        )
        if not moved:
            raise ValueError(
                f"payment {payment_id} is {txn.status}; an operator cannot make it {status}"
            )
        self.events.moved(txn, "ops")
        db.session.commit()
        return txn

    def _fail(
        self, txn: PaymentTransaction, code: str | None, desc: str | None, reason: str
    ) -> None:
        fields = {"result_code": code, "result_desc": desc, "status_reason": reason[:255]}
        transitions.transition(
            txn, PaymentStatus.FAILED, source="api", now=self.clock.now(), fields=fields
        )
        db.session.commit()

    def _mark_unknown(self, txn: PaymentTransaction, reason: str) -> None:
        """Best effort: a failure here leaves the payment pending, which is no less honest."""
        try:
            db.session.refresh(txn)
            transitions.transition(
                txn,
                PaymentStatus.UNKNOWN,
                source="api",
                now=self.clock.now(),
                fields={"status_reason": f"outcome unknown: {reason}"[:255]},
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("payment %s: could not record the unknown outcome", txn.id)

    def check_amount(self, amount: int, currency: str) -> None:
        if currency != self.limits.currency:
            raise InvalidRequestError(f"currency must be {self.limits.currency}.", param="currency")
        if amount % 100:
            raise InvalidRequestError(
                "M-Pesa takes whole shillings: amount is in cents and must be a multiple of 100.",
                param="amount",
                code="amount_not_whole_shillings",
            )
        if not self.limits.min_amount <= amount <= self.limits.max_amount:
            raise InvalidRequestError(
                f"amount must be between {self.limits.min_amount} and {self.limits.max_amount}"
                " (minor units).",
                param="amount",
                code="amount_out_of_range",
            )

    def _record_pending(
        self,
        tenant_id: str,
        new: NewPayment,
        method: PaymentMethod | None,
        processor: str,
        transaction_type: str,
        account_id: str,
        idempotency_key: str | None,
    ) -> PaymentTransaction:
        now = self.clock.now()
        txn = PaymentTransaction(
            id=new_id("pay"),
            tenant_id=tenant_id,
            transaction_type=transaction_type,
            processor=processor,
            account_id=account_id,
            payment_method_id=method.id if method else None,
            payment_method_type=new.payment_method_type,
            customer_id=new.customer_id,
            amount=new.amount,
            currency=new.currency,
            description=new.description,
            reference=new.reference,
            phone_number=new.phone_number,
            status=PaymentStatus.PENDING.value,
            conflicts=0,
            idempotency_key=idempotency_key,
            metadata_=new.metadata,
            processor_data={"request": new.details} if new.details else None,
            created_at=now,
            updated_at=now,
        )
        db.session.add(txn)
        db.session.flush()  # the payment row before its first event (foreign key)
        transitions.record_created(txn)
        db.session.commit()
        return txn
