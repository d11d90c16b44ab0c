"""Reconciliation: settle operations left without an outcome, never guessing where money moved.

Which: an operation still `pending`, `processing` or `unknown` `after_seconds` after it was
created, and a payout, B2B payment or reversal in `timeout` (a queue timeout is not the last
word) until its give-up window ends. Each is claimed alone by one UPDATE … RETURNING whose
subquery takes FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite's one writer makes the UPDATE the
claim): `reconcile_after` moves `after_seconds` ahead, so other reconcilers skip it. The claim
commits before anything is asked: no transaction is open while the upstream answers. Then
`reconcile_after` is the next look: `after_seconds`, doubled per look, up to max_backoff_seconds.

How, by the lifecycle the operation's type follows:
- prompt (STK Push) with its ids: STK Query (Processor.query). A decided answer is applied like
  a callback (EventApplier.apply_outcome, source "reconcile"); "being processed" waits.
- prompt without ids (it may have reached M-Pesa; its CheckoutRequestID never came back): an
  unmatched stored callback reporting a success from its phone for its amount since it was
  created puts it in review, that callback named. A guess never completes anything.
- request_result (B2C, B2B, reversal): Transaction Status by OriginatorConversationID, asked by
  a `transaction_status` operation of its own and answered by Result (payments.reconcile_answers).
  "Not found" (2032) decides nothing, M-Pesa says it of queued requests too: it asks again.
- inquiry (balance, status): no money, nothing to ask: `timeout` (a late Result still counts).

Giving up: a prompt undecided `stk_give_up_after_seconds` after creation, a request_result
`give_up_after_seconds`, goes to `review` with the last answer as evidence, never `failed`: an
`unknown` push may have reached M-Pesa, a "not found" request may still be queued. A
request_result in `timeout` keeps M-Pesa's answer. `pending` (the process stopped between
recording and the answer) becomes `unknown` first. Reports arriving later go through
apply_outcome: one that agrees changes nothing, one that disagrees is a recorded conflict.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update

from apg.errors import APGError
from apg.extensions import db
from apg.payments import ports, transitions
from apg.payments.events import Verdict
from apg.payments.lifecycle import PaymentStatus
from apg.payments.models import PaymentTransaction as Txn
from apg.payments.operations import operation_of
from apg.payments.reconcile_answers import (
    ORIGINATOR,
    SOURCE,
    STATUS_QUERY,
    answer_text,
    apply_found,
    describe,
    new_status_query,
    review,
    status_queries,
)
from apg.payments.service import Payments
from apg.settings import ReconciliationSettings

log = logging.getLogger(__name__)

OPEN = frozenset({PaymentStatus.PENDING, PaymentStatus.PROCESSING, PaymentStatus.UNKNOWN})
PROMPT, REQUEST_RESULT, INQUIRY = "prompt", "request_result", "inquiry"  # lifecycle.NAMED
UNRECORDED = "outcome unknown: its answer was never recorded (the sending process stopped?)"


class Look:
    """What a look did besides Verdict's outcomes (applied, review, enriched, conflict…)."""

    WAITING = "waiting"  # asked, or asking, and not decided yet
    ASKED = "asked"  # a Transaction Status query went out
    NOT_ASKED = "not_asked"  # it could not (refused, unreachable): the next look tries again
    EXPIRED = "expired"  # an inquiry nobody answered: timeout
    ERRORS = "errors"


@dataclass(frozen=True)
class StoredCallback:
    """A raw callback the inbox kept and matched to no transaction."""

    id: int
    kind: str
    raw: bytes


# (tenant_id, processor, since) -> the tenant's unmatched stored callbacks received since then.
UnmatchedCallbacks = Callable[[str, str, datetime], list[StoredCallback]]


class Reconciler:
    """Looks at operations left without an outcome (see the module's docstring)."""

    def __init__(
        self, settings: ReconciliationSettings, payments: Payments, unmatched: UnmatchedCallbacks
    ) -> None:
        self.settings = settings
        self.payments = payments
        self.clock = payments.clock
        self.unmatched = unmatched
        self.after = timedelta(seconds=settings.after_seconds)
        self.shapes = {
            transaction_type: name
            for processor in payments.registry.all().values()
            for transaction_type, name in processor.lifecycles.items()
            if name in (PROMPT, REQUEST_RESULT, INQUIRY)
        }

    def run_once(self, stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
        """Claim and settle due operations one by one, up to batch_size or until `stop()`;
        returns how many looks ended how ({"applied": 2, "waiting": 1…})."""
        counts: Counter[str] = Counter()
        while counts.total() < self.settings.batch_size and not stop():
            txn = self.claim_next()
            if txn is None:
                break
            txn_id = txn.id
            try:
                counts[self.settle(txn)] += 1
            except Exception:  # one operation's trouble must not stop the others
                db.session.rollback()
                log.exception("reconcile %s: the look failed; its lease ends, then again", txn_id)
                counts[Look.ERRORS] += 1
        return dict(counts)

    def claim_next(self) -> Txn | None:
        """The oldest operation due for a look, leased to this reconciler; committed."""
        now = self.clock.now()
        due = (
            select(Txn.id)
            .where(self._due(now))
            .order_by(Txn.created_at, Txn.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        claimed = db.session.execute(
            update(Txn)
            .where(Txn.id.in_(due), self._free(now))  # re-checked on the row as locked
            .values(reconcile_after=now + self.after, reconcile_attempts=Txn.reconcile_attempts + 1)
            .returning(Txn.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        db.session.commit()
        return db.session.get(Txn, claimed, populate_existing=True) if claimed else None

    def settle(self, txn: Txn) -> str:
        """One look at a claimed operation; commits. Returns a Verdict or a Look word."""
        if txn.status == PaymentStatus.PENDING:
            self._transition(txn, PaymentStatus.UNKNOWN, UNRECORDED)
        shape = self.shapes[txn.transaction_type]
        if shape == INQUIRY:
            verdict = self._expire(txn)
        elif shape == PROMPT:
            verdict = self._prompt(txn) if txn.refs else self._unidentified(txn)
        else:
            verdict = self._request(txn)
        backoff = self.settings.after_seconds * 2 ** max(txn.reconcile_attempts - 1, 0)
        delay = timedelta(seconds=min(backoff, self.settings.max_backoff_seconds))
        db.session.execute(
            update(Txn).where(Txn.id == txn.id).values(reconcile_after=self.clock.now() + delay)
        )
        db.session.commit()
        return verdict

    # --- by lifecycle -------------------------------------------------------------------

    def _prompt(self, txn: Txn) -> str:
        processor = self.payments.registry.get(txn.processor)
        operation = operation_of(txn)
        db.session.commit()  # hold no transaction while the upstream answers
        answer = processor.query(operation)
        if isinstance(answer, ports.Outcome):
            return self.payments.events.apply_outcome(txn, answer, source=SOURCE)
        give_up = self.settings.stk_give_up_after_seconds
        return self._undecided(txn, give_up, f"STK Query: {describe(answer)}")

    def _unidentified(self, txn: Txn) -> str:
        """A push whose ids never came back: a stored callback may still tell (review)."""
        matches = self._matching_callbacks(txn)
        if matches:
            named = ", ".join(f"{stored.id} (receipt {receipt})" for stored, receipt in matches)
            return review(
                txn,
                f"its CheckoutRequestID was never learnt; unmatched callback {named} reports a"
                " payment from this phone for this amount since it was sent",
                self.clock.now(),
            )
        give_up = self.settings.stk_give_up_after_seconds
        why = "the push may have reached M-Pesa, but its CheckoutRequestID was never learnt"
        return self._undecided(txn, give_up, f"{why} and no callback matches it")

    def _request(self, txn: Txn) -> str:
        asked = status_queries(txn)
        for query in asked:
            if (verdict := apply_found(self.payments.events, txn, query)) is not None:
                return verdict
        waiting = next((q for q in asked if PaymentStatus(q.status) in OPEN), None)
        originator = txn.ref(ORIGINATOR)
        give_up = self.settings.give_up_after_seconds
        if waiting is None and originator is not None:
            if not (asked and self._past(txn, give_up)):  # gives up only once it has asked
                return self._ask(txn, originator)
            return self._undecided(txn, give_up, answer_text(asked[0]))
        evidence = (
            f"Transaction Status query {waiting.id} is not answered yet"
            if waiting is not None
            else "no OriginatorConversationID to ask Transaction Status with"
        )
        return self._undecided(txn, give_up, evidence)

    def _expire(self, txn: Txn) -> str:
        reason = f"no Result within {self.settings.after_seconds}s: ask again"
        moved = self._transition(txn, PaymentStatus.TIMEOUT, reason)
        return Look.EXPIRED if moved else Verdict.DUPLICATE

    # --- helpers ------------------------------------------------------------------------

    def _due(self, now: datetime) -> ColumnElement[bool]:
        requests = [t for t, shape in self.shapes.items() if shape == REQUEST_RESULT]
        give_up = timedelta(seconds=self.settings.give_up_after_seconds)
        timed_out = and_(
            Txn.status == PaymentStatus.TIMEOUT.value,
            Txn.transaction_type.in_(requests),
            Txn.created_at > now - give_up,
        )
        return and_(
            or_(Txn.status.in_([s.value for s in OPEN]), timed_out),
            Txn.transaction_type.in_(list(self.shapes)),
            Txn.created_at <= now - self.after,
            self._free(now),
        )

    def _free(self, now: datetime) -> ColumnElement[bool]:
        """Not leased to a reconciler, nor waiting for its next look."""
        return or_(Txn.reconcile_after.is_(None), Txn.reconcile_after <= now)

    def _undecided(self, txn: Txn, give_up_seconds: int, evidence: str) -> str:
        """Wait for a later look, or past the give-up window, review with the evidence."""
        if not self._past(txn, give_up_seconds) or txn.status == PaymentStatus.TIMEOUT:
            log.info("reconcile %s: undecided (%s)", txn.id, evidence)
            return Look.WAITING
        age = int((self.clock.now() - txn.created_at).total_seconds())
        return review(txn, f"no outcome after {age}s: {evidence}", self.clock.now())

    def _past(self, txn: Txn, seconds: int) -> bool:
        return self.clock.now() - txn.created_at >= timedelta(seconds=seconds)

    def _matching_callbacks(self, txn: Txn) -> list[tuple[StoredCallback, str | None]]:
        processor = self.payments.registry.get(txn.processor)
        matches = []
        for stored in self.unmatched(txn.tenant_id, txn.processor, txn.created_at):
            try:
                outcome = processor.parse_callback(stored.kind, stored.raw).outcome
            except ports.CallbackRejected:
                continue
            if (
                outcome is not None
                and outcome.status == PaymentStatus.COMPLETED
                and outcome.amount == txn.amount
                and outcome.detail.get("phone_number") == txn.phone_number
            ):
                matches.append((stored, outcome.receipt))
        return matches

    def _ask(self, txn: Txn, originator: str) -> str:
        """Start a Transaction Status query about `txn` (it commits before sending)."""
        processor = self.payments.registry.get(txn.processor)
        give_up = self.settings.give_up_after_seconds
        methods = [m for m, t in processor.method_types.items() if t == STATUS_QUERY]
        if not methods:
            return self._undecided(txn, give_up, "its processor has no Transaction Status")
        db.session.commit()
        try:
            query = self.payments.initiate(
                txn.tenant_id, new_status_query(txn, methods[0], originator)
            )
        except APGError as exc:  # recorded on the query, if it got that far: asked again later
            log.warning("reconcile %s: the status query was not accepted: %s", txn.id, exc)
            if self._past(txn, give_up):
                return self._undecided(txn, give_up, f"Transaction Status not asked: {exc}")
            return Look.NOT_ASKED
        log.info("reconcile %s: asked Transaction Status (%s)", txn.id, query.id)
        return Look.ASKED

    def _transition(self, txn: Txn, to: PaymentStatus, reason: str) -> bool:
        fields = {"status_reason": reason[:255]}
        return transitions.transition(txn, to, source=SOURCE, now=self.clock.now(), fields=fields)
