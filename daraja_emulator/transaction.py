"""The contract every asynchronous product transaction meets, and the callbacks it owes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

FIRST = "callback"  # the kind of the callback that carries the decision
FOLLOW_UP = "follow_up"
DUPLICATE = "duplicate"


@dataclass
class ScheduledCallback:
    """One callback a transaction owes, due at `due_at` (emulator clock).

    `claimed` and `done` change only under the state lock: whoever claims it (scheduler, settle
    or the request handler for early delivery) sends it, exactly once; `done` is set when its
    POSTs are over. `copies` > 1 POSTs it again back to back; `dropped` records it, never POSTs.
    `url` overrides the transaction's callback_url (a QueueTimeOutURL notice); `timeout`
    overrides the sender's HTTP timeout (a C2B validation request waits c2b_validation_timeout).
    """

    kind: str
    due_at: float
    copies: int = 1
    dropped: bool = False
    claimed: bool = False
    done: bool = False
    url: str | None = None
    timeout: float | None = None

    def describe(self) -> dict[str, Any]:
        state = "done" if self.done else "sending" if self.claimed else "scheduled"
        return {
            "kind": self.kind,
            "due_at": self.due_at,
            "copies": self.copies,
            "dropped": self.dropped,
            "state": state,
            **({} if self.url is None else {"url": self.url}),
            **({} if self.timeout is None else {"timeout": self.timeout}),
        }


class AsyncTransaction(Protocol):
    """A request Daraja answers later by POSTing callbacks (STK push, B2C, B2B, balance, …)."""

    @property
    def key(self) -> str: ...

    @property
    def callback_url(self) -> str: ...

    callbacks: list[ScheduledCallback]  # in delivery order; the first carries the decision
    deliveries: list[dict[str, Any]]

    def render_callback(self, callback: ScheduledCallback) -> str | None:
        """The exact JSON text to POST; None when the callback is no longer owed (a C2B
        confirmation after a refused validation): nothing is POSTed or recorded."""
        ...

    def labels(self) -> dict[str, str]: ...

    def describe(self, now: float) -> dict[str, Any]: ...


def next_callback(transaction: AsyncTransaction) -> ScheduledCallback | None:
    """The earliest callback not yet done: only it may be sent, so callbacks arrive in order."""
    return next((c for c in transaction.callbacks if not c.done), None)
