"""In-memory, thread-safe emulator state: access tokens, async transactions, callback deliveries,
C2B URL and Pull Transactions registrations, generated Dynamic QR codes."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from daraja_emulator.products.c2b_payment import C2BRegistration
from daraja_emulator.products.pull_payload import PullRegistration
from daraja_emulator.products.qr_code import QrCode
from daraja_emulator.scenarios import Scenario
from daraja_emulator.transaction import (
    AsyncTransaction,
    ScheduledCallback,
    next_callback,
)

__all__ = ["AsyncTransaction", "EmulatorState", "ScheduledCallback"]

Due = tuple[AsyncTransaction, ScheduledCallback]


class EmulatorState:
    """All mutable emulator state behind one lock; `wakeup` is set when a callback may be due.

    Nothing a request or the scheduler does scans every transaction ever stored: a heap of due
    times finds the next callbacks, and `add` checks only the transactions of its `scope`.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.wakeup = threading.Event()
        self._tokens: dict[str, float] = {}
        self._transactions: dict[str, AsyncTransaction] = {}
        self._order: dict[str, int] = {}  # key -> accept order (claim_due answers in it)
        self._scopes: dict[str, list[AsyncTransaction]] = {}
        # (due_at, tie-breaker, transaction) for each transaction whose next callback is
        # unclaimed; stale entries (claimed, done, moved earlier, reset) are skipped when met.
        self._due: list[tuple[float, int, AsyncTransaction]] = []
        self._sequence = itertools.count()
        self._deliveries: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()
        self._scenarios: dict[str, Scenario] = {}
        self._registrations: dict[str, C2BRegistration] = {}
        self._pull_registrations: dict[str, PullRegistration] = {}
        self._qr_codes: list[QrCode] = []

    def count(self, name: str) -> None:
        """Add one to a named statistic (tokens issued, requests received, …)."""
        with self._lock:
            self._counts[name] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def set_scenario(self, msisdn: str, scenario: Scenario | None) -> None:
        """Override the configured scenario for one MSISDN at runtime; None removes the override."""
        with self._lock:
            if scenario is None:
                self._scenarios.pop(msisdn, None)
            else:
                self._scenarios[msisdn] = scenario

    def scenario_override(self, msisdn: str) -> Scenario | None:
        with self._lock:
            return self._scenarios.get(msisdn)

    def register_urls(self, registration: C2BRegistration, *, once: bool) -> bool:
        """Store (or replace) a shortcode's C2B URLs; False, storing nothing, when `once` and
        the shortcode already has some (production's "already registered")."""
        with self._lock:
            if once and registration.shortcode in self._registrations:
                return False
            self._registrations[registration.shortcode] = registration
            return True

    def registration(self, shortcode: str) -> C2BRegistration | None:
        with self._lock:
            return self._registrations.get(shortcode)

    def registrations(self) -> list[C2BRegistration]:
        """Every shortcode's URLs, in the order the shortcodes were first registered."""
        with self._lock:
            return list(self._registrations.values())

    def register_pull(self, registration: PullRegistration) -> bool:
        """Store a shortcode's Pull registration; False, keeping the first, when it has one."""
        with self._lock:
            if registration.shortcode in self._pull_registrations:
                return False
            self._pull_registrations[registration.shortcode] = registration
            return True

    def pull_registration(self, shortcode: str) -> PullRegistration | None:
        with self._lock:
            return self._pull_registrations.get(shortcode)

    def add_qr_code(self, code: QrCode) -> None:
        with self._lock:
            self._qr_codes.append(code)

    def qr_codes(self) -> list[QrCode]:
        """Every Dynamic QR code generated since start or reset, newest first."""
        with self._lock:
            return self._qr_codes[::-1]

    def add_token(self, token: str, expires_at: float, *, revoke_others: bool, now: float) -> None:
        with self._lock:
            if revoke_others:
                self._tokens.clear()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = expires_at

    def token_is_valid(self, token: str, now: float) -> bool:
        with self._lock:
            return now < self._tokens.get(token, now)

    def add(
        self,
        transaction: AsyncTransaction,
        *,
        scope: str | None = None,
        unless: Callable[[AsyncTransaction], bool] | None = None,
    ) -> bool:
        """Store a transaction unless an existing one of the same `scope` matches `unless`
        (checked atomically). `scope` (e.g. the payer's MSISDN) files the transaction for later
        checks; without one, `unless` is checked against every transaction."""
        with self._lock:
            others = self._transactions.values() if scope is None else self._scopes.get(scope, ())
            if unless is not None and any(unless(t) for t in others):
                return False
            self._transactions[transaction.key] = transaction
            self._order[transaction.key] = next(self._sequence)
            if scope is not None:
                self._scopes.setdefault(scope, []).append(transaction)
            self._schedule(transaction)
        self.wakeup.set()
        return True

    def get(self, key: str) -> AsyncTransaction | None:
        with self._lock:
            return self._transactions.get(key)

    def transactions(self) -> list[AsyncTransaction]:
        with self._lock:
            return list(self._transactions.values())

    def describe(self, key: str, now: float) -> dict[str, Any] | None:
        with self._lock:
            transaction = self._transactions.get(key)
            return None if transaction is None else transaction.describe(now)

    def decide_now(self, key: str, now: float) -> AsyncTransaction | None:
        """Bring every callback of a transaction that is due later forward to `now`."""
        with self._lock:
            transaction = self._transactions.get(key)
            for callback in transaction.callbacks if transaction is not None else []:
                callback.due_at = min(callback.due_at, now)
            if transaction is not None:
                self._schedule(transaction)
        self.wakeup.set()
        return transaction

    def claim(self, callback: ScheduledCallback) -> bool:
        """Take the job of sending this callback; False if someone already has it."""
        with self._lock:
            if callback.claimed:
                return False
            callback.claimed = True
            return True

    def claim_due(self, now: float) -> list[Due]:
        """Claim each transaction's next callback when it is due and nobody has claimed it;
        in accept order."""
        with self._lock:
            due: list[Due] = []
            while self._due and self._due[0][0] <= now:
                _, _, transaction = heapq.heappop(self._due)
                callback = self._claimable(transaction)
                if callback is not None and callback.due_at <= now:
                    callback.claimed = True
                    due.append((transaction, callback))
            due.sort(key=lambda pair: self._order[pair[0].key])
            return due

    def next_due_at(self) -> float | None:
        """When the earliest claimable callback is due (finishing one wakes us for the next)."""
        with self._lock:
            while self._due:
                at, _, transaction = self._due[0]
                callback = self._claimable(transaction)
                if callback is not None and callback.due_at == at:
                    return at
                heapq.heappop(self._due)  # stale: a fresher entry exists if one is needed
            return None

    def _claimable(self, transaction: AsyncTransaction) -> ScheduledCallback | None:
        """The transaction's next callback if it is still stored and nobody claimed it."""
        if self._transactions.get(transaction.key) is not transaction:
            return None
        callback = next_callback(transaction)
        return None if callback is None or callback.claimed else callback

    def _schedule(self, transaction: AsyncTransaction) -> None:
        """File the transaction's next callback by due time, if someone still has to claim it."""
        callback = next_callback(transaction)
        if callback is not None and not callback.claimed:
            entry = (callback.due_at, next(self._sequence), transaction)
            heapq.heappush(self._due, entry)

    def record_delivery(
        self, transaction: AsyncTransaction, record: dict[str, Any], *, listed: bool = True
    ) -> None:
        """Keep a delivery record on its transaction and, if `listed`, in /_emulator/callbacks."""
        with self._lock:
            transaction.deliveries.append(record)
            if listed and self._transactions.get(transaction.key) is transaction:
                self._deliveries.append(record)  # not when reset meanwhile
            self._changed.notify_all()

    def finish(self, transaction: AsyncTransaction, callback: ScheduledCallback) -> None:
        """Mark a claimed callback of `transaction` as over; the next one may now be sent."""
        with self._lock:
            callback.done = True
            if self._transactions.get(transaction.key) is transaction:
                self._schedule(transaction)
            self._changed.notify_all()
        self.wakeup.set()

    def wait_until_done(self, key: str, callback: ScheduledCallback, timeout: float) -> bool:
        """Block until `callback` is done (True); False on timeout or when `key` is reset."""
        with self._lock:
            self._changed.wait_for(lambda: callback.done or key not in self._transactions, timeout)
            return callback.done

    def wait_for_delivery(self, key: str, timeout: float) -> dict[str, Any] | None:
        """Block until the first callback for `key` is done; its record, else None."""
        with self._lock:
            self._changed.wait_for(lambda: self.first_record(key) is not None, timeout)
            return self.first_record(key)

    def first_record(self, key: str) -> dict[str, Any] | None:
        """The record of the first callback (the decision) once its POSTs are over."""
        with self._lock:
            transaction = self._transactions.get(key)
            callbacks = transaction.callbacks if transaction is not None else []
            if transaction is None or not callbacks or not callbacks[0].done:
                return None
            kind = callbacks[0].kind  # FIRST for STK; "result"/"queue_timeout"; C2B "validation"
            first = (r for r in transaction.deliveries if r["kind"] == kind)
            return next((dict(record) for record in first), None)

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(record) for record in self._deliveries]

    def reset(self) -> None:
        """Forget tokens, transactions, deliveries, statistics, scenario overrides, C2B URLs,
        Pull registrations and QR codes."""
        with self._lock:
            self._tokens.clear()
            self._registrations.clear()
            self._pull_registrations.clear()
            self._qr_codes.clear()
            self._transactions.clear()
            self._order.clear()
            self._scopes.clear()
            self._due.clear()
            self._deliveries.clear()
            self._counts.clear()
            self._scenarios.clear()
            self._changed.notify_all()
        self.wakeup.set()
