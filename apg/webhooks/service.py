"""The callback inbox: store raw first, then parse (processor), apply (payments), answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy import select, update

from apg.clock import Clock
from apg.errors import APGError, InvalidRequestError, NotFoundError
from apg.extensions import db
from apg.payments.events import EventApplier, Verdict
from apg.payments.models import PaymentTransaction, ProcessorReference
from apg.payments.ports import CallbackRejected
from apg.payments.registry import ProcessorRegistry
from apg.security import events as security_events
from apg.security.events import SecurityEventKind
from apg.security.sources import CallbackSources
from apg.tenants import callback_tokens
from apg.tenants.callback_tokens import Lookup
from apg.webhooks.models import CallbackOutcome, InboundCallback

log = logging.getLogger(__name__)

# What is kept of a body nobody vouches for (an unknown URL token) or one over the size limit:
# enough to see what it was, too little to fill the disk.
UNTRUSTED_CAP = 4096
# A row still `received` this long after arrival died mid-processing; the sweep retries it.
STALE_RECEIVED = timedelta(minutes=2)


class PayloadTooLargeError(APGError):
    status, type, code = 413, "invalid_request_error", "request_entity_too_large"
    message = "The callback body is larger than the gateway accepts."


class CallbackSourceRefusedError(APGError):
    status, type, code = 403, "invalid_request_error", "source_not_allowed"
    message = "Callbacks are accepted only from M-Pesa's published addresses."


@dataclass(frozen=True)
class Delivery:
    """One POST as it arrived."""

    processor: str
    token: str
    kind: str
    body: bytes  # possibly only the head, when too_large
    size: int
    too_large: bool
    content_type: str | None
    source_ip: str | None


# Callbacks whose body was cut to its head (or that no tenant owns): never re-processed.
# (A retired token's or a refused source's callback is kept whole: ops may replay it.)
NOT_KEPT_WHOLE = (CallbackOutcome.UNKNOWN_TENANT, CallbackOutcome.TOO_LARGE)


class Inbox:
    def __init__(
        self,
        clock: Clock,
        registry: ProcessorRegistry,
        events: EventApplier,
        sources: CallbackSources,
    ) -> None:
        self.clock = clock
        self.registry = registry
        self.events = events
        self.sources = sources

    def receive(self, delivery: Delivery) -> dict[str, Any]:
        """Store, then check and process. Returns the processor's acknowledgement; raises
        404 (unknown or retired URL, unknown kind), 403 (source refused), 400, 413."""
        processor = self.registry.get(delivery.processor)
        lookup = callback_tokens.find(delivery.token, self.clock.now())
        tenant_id = lookup.match.tenant.id if lookup.match else lookup.retired_tenant_id
        row = self._store(delivery, tenant_id)
        if delivery.too_large:
            self._finish(row, CallbackOutcome.TOO_LARGE, error=f"{delivery.size} bytes")
            raise PayloadTooLargeError()
        if lookup.match is None:
            self._refuse(row, delivery, lookup)
        if self.sources.refuses(delivery.source_ip):
            self._finish(row, CallbackOutcome.SOURCE_REFUSED, error="source not allowlisted")
            self._security_event(SecurityEventKind.CALLBACK_SOURCE_REFUSED, row, delivery)
            raise CallbackSourceRefusedError()
        if delivery.kind not in processor.callback_kinds:
            self._finish(row, CallbackOutcome.MALFORMED, error="unknown callback kind")
            raise NotFoundError("Unknown callback kind.")
        verdict = self.process(row)
        if verdict == CallbackOutcome.MALFORMED:
            self._security_event(SecurityEventKind.CALLBACK_MALFORMED, row, delivery)
            raise InvalidRequestError(
                f"Not a {row.kind} callback: {row.error}", code="malformed_callback"
            )
        if verdict == Verdict.REVIEW:
            held = db.session.get(PaymentTransaction, row.payment_id) if row.payment_id else None
            why = held.status_reason if held else row.error
            self._security_event(SecurityEventKind.CALLBACK_MISMATCH, row, delivery, why)
        return processor.answer(row.kind, verdict)

    def _refuse(self, row: InboundCallback, delivery: Delivery, lookup: Lookup) -> NoReturn:
        """A token no tenant has (now): 404, exactly as for any unknown URL."""
        if lookup.retired_tenant_id:
            self._finish(row, CallbackOutcome.RETIRED_TOKEN, error="URL token rotated out")
            self._security_event(SecurityEventKind.CALLBACK_RETIRED_TOKEN, row, delivery)
        else:
            self._finish(row, CallbackOutcome.UNKNOWN_TENANT, error="no tenant for this URL token")
            self._security_event(SecurityEventKind.CALLBACK_UNKNOWN_TOKEN, row, delivery)
        raise NotFoundError("Unknown callback URL.")

    def _security_event(
        self, kind: str, row: InboundCallback, delivery: Delivery, reason: str | None = None
    ) -> None:
        security_events.record(
            kind,
            self.clock.now(),
            tenant_id=row.tenant_id,
            source_ip=delivery.source_ip,
            path=f"/webhooks/{delivery.processor}/…/{delivery.kind}"[:200],  # never the token
            callback_id=row.id,
            callback_kind=delivery.kind[:32],
            payment_id=row.payment_id,
            reason=reason or row.error,
        )

    def process(self, row: InboundCallback) -> str:
        """Parse a stored callback and apply it, all in one transaction; returns the verdict."""
        processor = self.registry.get(row.processor)
        try:
            event = processor.parse_callback(row.kind, bytes(row.raw_body))
        except CallbackRejected as exc:
            return self._finish(row, CallbackOutcome.MALFORMED, error=str(exc)[:500])
        assert row.tenant_id is not None
        verdict, row.payment_id = self.events.apply_event(row.tenant_id, processor, event)
        if event.refs:  # set after applying: one UPDATE of the row with its outcome, not two
            row.ref_kind, row.ref_value = event.refs[0].kind, event.refs[0].value
        # "rejected:<reason>" (a validation's answer): the outcome, and its reason beside it.
        outcome, _, reason = verdict.partition(":")
        self._finish(row, outcome, error=reason or None)
        if verdict == Verdict.UNMATCHED and self.events.find(
            row.tenant_id, row.processor, event.refs, event.reports_on
        ):
            # Its transaction committed between our look and our commit, and its listener may
            # have looked for unmatched rows before ours was committed: one of us must apply it.
            return self.retry_unmatched(row)
        return verdict

    def retry_unmatched(self, row: InboundCallback) -> str:
        """Process an unmatched row again, unless another worker already took it."""
        taken = db.session.execute(
            update(InboundCallback)
            .where(
                InboundCallback.id == row.id,
                InboundCallback.outcome == CallbackOutcome.UNMATCHED,
            )
            .values(outcome=CallbackOutcome.RECEIVED)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            db.session.refresh(row)
            return row.outcome
        return self.process(row)

    def replay(self, callback_id: int) -> tuple[str, str]:
        """Process a stored callback again from its raw bytes (e.g. after a parser fix);
        returns (its verdict before, its verdict now). Applying is idempotent, so a replay of
        an applied callback is a duplicate. Raises LookupError, or ValueError saying why not."""
        row = db.session.get(InboundCallback, callback_id)
        if row is None:
            raise LookupError(f"no stored callback {callback_id}")
        if row.tenant_id is None or row.outcome in NOT_KEPT_WHOLE:
            raise ValueError(f"callback {callback_id} has no tenant or was not kept whole")
        was = row.outcome
        taken = db.session.execute(
            update(InboundCallback)
            .where(InboundCallback.id == row.id, InboundCallback.outcome == was)
            .values(outcome=CallbackOutcome.RECEIVED)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise ValueError(f"callback {callback_id} is being processed right now: try again")
        db.session.refresh(row)
        earlier = row.error if row.error and "(replayed;" in row.error else None
        verdict = self.process(row)
        # The row now says what the replay did; it keeps what it said before, every time.
        notes = [row.error, earlier, f"(replayed; was {was})"]
        row.error = " ".join(note for note in notes if note)[-500:]
        db.session.commit()
        return was, verdict

    def apply_waiting(self, txn: PaymentTransaction) -> None:
        """Callbacks that arrived before `txn` recorded its refs are applied now."""
        values = [ref.value for ref in txn.refs]
        waiting = db.session.execute(
            select(InboundCallback)
            .where(
                InboundCallback.tenant_id == txn.tenant_id,
                InboundCallback.processor == txn.processor,
                InboundCallback.outcome == CallbackOutcome.UNMATCHED,
                InboundCallback.ref_value.in_(values),
            )
            .order_by(InboundCallback.id)
        ).scalars()
        for row in list(waiting):
            log.info("applying callback %s that arrived before payment %s", row.id, txn.id)
            self.retry_unmatched(row)

    def sweep(self) -> dict[str, int]:
        """Apply unmatched callbacks whose transaction now exists, and retry rows that died
        mid-processing. Safe to run at any time, from any number of workers."""
        matched = (
            select(InboundCallback)
            .join(
                ProcessorReference,
                (ProcessorReference.value == InboundCallback.ref_value)
                & (ProcessorReference.tenant_id == InboundCallback.tenant_id)
                & (ProcessorReference.processor == InboundCallback.processor),
            )
            .where(InboundCallback.outcome == CallbackOutcome.UNMATCHED)
        )
        stale = select(InboundCallback).where(
            InboundCallback.outcome == CallbackOutcome.RECEIVED,
            InboundCallback.tenant_id.is_not(None),
            InboundCallback.received_at < self.clock.now() - STALE_RECEIVED,
        )
        counts = {"applied": 0, "still_unmatched": 0}
        for query in (matched, stale):
            for row in list(db.session.execute(query.order_by(InboundCallback.id)).scalars()):
                unmatched = row.outcome == CallbackOutcome.UNMATCHED
                verdict = self.retry_unmatched(row) if unmatched else self.process(row)
                counts[
                    "applied" if verdict != CallbackOutcome.UNMATCHED else "still_unmatched"
                ] += 1
        return counts

    def _store(self, delivery: Delivery, tenant_id: str | None) -> InboundCallback:
        body = (
            delivery.body if tenant_id and not delivery.too_large else delivery.body[:UNTRUSTED_CAP]
        )
        row = InboundCallback(
            kind=_storable(delivery.kind)[:32],
            processor=delivery.processor,
            tenant_id=tenant_id,
            raw_body=body,
            body_size=delivery.size,
            content_type=_storable(delivery.content_type or "")[:128] or None,
            source_ip=delivery.source_ip,
            received_at=self.clock.now(),
            outcome=CallbackOutcome.RECEIVED,
        )
        db.session.add(row)
        db.session.commit()  # the raw record survives whatever happens next
        return row

    def _finish(self, row: InboundCallback, outcome: str, error: str | None = None) -> str:
        row.outcome = outcome
        row.error = error
        row.processed_at = self.clock.now()
        db.session.commit()
        return outcome


def _storable(text: str) -> str:
    """Text a PostgreSQL text column can hold (no NUL), as it arrived otherwise."""
    return text.replace("\x00", "\ufffd")
