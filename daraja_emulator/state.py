"""In-memory, thread-safe emulator state: access tokens, async transactions, callback deliveries."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from daraja_emulator.scenarios import Scenario


class AsyncTransaction(Protocol):
    """A request Daraja answers later by POSTing a callback (STK push today; B2C etc. later)."""

    @property
    def key(self) -> str: ...

    @property
    def callback_url(self) -> str: ...

    decide_at: float  # when the outcome is final and its callback falls due
    delivery_claimed: bool  # set once, under the state lock, by whoever sends the first callback
    deliveries: list[dict[str, Any]]

    def render_callback(self) -> str: ...

    def labels(self) -> dict[str, str]: ...

    def describe(self, now: float) -> dict[str, Any]: ...


class EmulatorState:
    """All mutable emulator state behind one lock; `wakeup` is set when a new callback is due."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._delivered = threading.Condition(self._lock)
        self.wakeup = threading.Event()
        self._tokens: dict[str, float] = {}
        self._transactions: dict[str, AsyncTransaction] = {}
        self._deliveries: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()
        self._scenarios: dict[str, Scenario] = {}

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
        unless: Callable[[AsyncTransaction], bool] | None = None,
    ) -> bool:
        """Store a transaction unless an existing one matches `unless` (checked atomically)."""
        with self._lock:
            if unless is not None and any(unless(t) for t in self._transactions.values()):
                return False
            self._transactions[transaction.key] = transaction
        self.wakeup.set()
        return True

    def get(self, key: str) -> AsyncTransaction | None:
        with self._lock:
            return self._transactions.get(key)

    def describe(self, key: str, now: float) -> dict[str, Any] | None:
        with self._lock:
            transaction = self._transactions.get(key)
            return None if transaction is None else transaction.describe(now)

    def decide_now(self, key: str, now: float) -> AsyncTransaction | None:
        """Bring an undecided transaction's decision forward to `now`."""
        with self._lock:
            transaction = self._transactions.get(key)
            if transaction is not None:
                transaction.decide_at = min(transaction.decide_at, now)
            return transaction

    def claim(self, key: str) -> AsyncTransaction | None:
        """Take the job of sending the first callback; None if someone already has it."""
        with self._lock:
            transaction = self._transactions.get(key)
            if transaction is None or transaction.delivery_claimed:
                return None
            transaction.delivery_claimed = True
            return transaction

    def claim_due(self, now: float) -> list[AsyncTransaction]:
        """Claim every decided transaction whose first callback nobody has claimed yet."""
        with self._lock:
            due = [
                t
                for t in self._transactions.values()
                if not t.delivery_claimed and t.decide_at <= now
            ]
            for transaction in due:
                transaction.delivery_claimed = True
            return due

    def next_due_at(self) -> float | None:
        with self._lock:
            pending = [t.decide_at for t in self._transactions.values() if not t.delivery_claimed]
            return min(pending, default=None)

    def record_delivery(self, transaction: AsyncTransaction, record: dict[str, Any]) -> None:
        with self._lock:
            transaction.deliveries.append(record)
            if self._transactions.get(transaction.key) is transaction:  # not reset meanwhile
                self._deliveries.append(record)
            self._delivered.notify_all()

    def wait_for_delivery(self, key: str, timeout: float) -> dict[str, Any] | None:
        """Block until the first callback for `key` has been POSTed; its record, else None."""
        with self._lock:
            self._delivered.wait_for(lambda: self._first_record(key) is not None, timeout)
            return self._first_record(key)

    def _first_record(self, key: str) -> dict[str, Any] | None:
        transaction = self._transactions.get(key)
        if transaction is None or not transaction.deliveries:
            return None
        return dict(transaction.deliveries[0])

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(record) for record in self._deliveries]

    def reset(self) -> None:
        """Forget tokens, transactions, deliveries, statistics and scenario overrides."""
        with self._lock:
            self._tokens.clear()
            self._transactions.clear()
            self._deliveries.clear()
            self._counts.clear()
            self._scenarios.clear()
            self._delivered.notify_all()
        self.wakeup.set()
