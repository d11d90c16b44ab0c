"""One accepted initiator-API request (B2C, B2B, balance, status, reversal) and the Result it owes.

Its outcome is scripted at accept time, but decided — money moved, receipts issued, balances
read — only when the Result falls due, by products/clearing.py, in time order with every other
decision. A queue-timeout notice (QueueTimeOutURL) needs no decision.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daraja_emulator.ids import placeholder_receipt, receipt_prefix
from daraja_emulator.products import result_codes, result_json
from daraja_emulator.products.result_json import Decision
from daraja_emulator.scenarios import Outcome
from daraja_emulator.transaction import ScheduledCallback

if TYPE_CHECKING:  # runtime imports products only through the app, never the reverse
    from daraja_emulator.runtime import Emulator

RESULT = "result"  # the kind of the callback carrying the Result
QUEUE_TIMEOUT = "queue_timeout"  # the kind of the QueueTimeOutURL notice
ACCEPTED = "Accept the service request successfully."
NOT_ACCEPTED = "Request not accepted for processing"  # our wording, as for STK


@dataclass(frozen=True)
class Initiation:
    """What every initiator-API request carries besides its product's own fields."""

    initiator: str
    security_credential: str
    organization: str  # the shortcode the initiator acts for
    result_url: str
    queue_timeout_url: str


@dataclass(frozen=True)
class ResultProduct:
    """A product's name (labels, stats, control API) and how its Results are decided."""

    name: str
    decide: Callable[[Emulator, ResultTransaction, float], Decision]
    ack_description: str = ACCEPTED
    conversation_id_first: bool = False  # B2C acks list ConversationID first

    def acknowledgement(
        self, originator_conversation_id: str, conversation_id: str, *, accepted: bool = True
    ) -> dict[str, str]:
        """The synchronous answer; not accepted: ResponseCode "1" and no ConversationID."""
        ids = [
            ("OriginatorConversationID", originator_conversation_id),
            ("ConversationID", conversation_id if accepted else ""),
        ]
        if self.conversation_id_first:
            ids.reverse()
        return {
            **dict(ids),
            "ResponseCode": "0" if accepted else "1",
            "ResponseDescription": self.ack_description if accepted else NOT_ACCEPTED,
        }


@dataclass
class ResultTransaction:
    """An accepted request; `outcome` None means it only ever times out in the queue."""

    product: ResultProduct
    conversation_id: str
    originator_conversation_id: str
    initiation: Initiation
    details: Any  # the product's validated request fields (a frozen dataclass)
    accepted_at: float
    credential_valid: bool
    outcome: Outcome | None
    receipt_tail: str
    callbacks: list[ScheduledCallback]
    catch_up: Callable[[float, ResultTransaction], None]  # decide everything due by then
    delivery: str = "normal"
    decision: Decision | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.conversation_id

    @property
    def callback_url(self) -> str:
        return self.initiation.result_url

    @property
    def decision_at(self) -> float | None:
        """When the Result falls due (None: a queue timeout with nothing after it)."""
        due = [c.due_at for c in self.callbacks if c.kind == RESULT]
        return due[0] if due else None

    def receipt_at(self, at: float) -> str:
        return receipt_prefix(at) + self.receipt_tail

    def decide(self, emulator: Emulator, at: float) -> None:
        """Fix the Result once (clearing.catch_up calls this under the books' lock)."""
        if self.decision is None:
            self.decision = self.product.decide(emulator, self, at)

    def render_callback(self, callback: ScheduledCallback) -> str:
        if callback.kind == QUEUE_TIMEOUT:
            return result_json.render(
                queue_timeout_notice(callback.due_at),
                self.originator_conversation_id,
                self.conversation_id,
            )
        self.catch_up(callback.due_at, self)
        if self.decision is None:
            raise RuntimeError(f"{self.key} was not decided by {callback.due_at}")
        return result_json.render(
            self.decision, self.originator_conversation_id, self.conversation_id
        )

    def acknowledgement(self) -> dict[str, str]:
        return self.product.acknowledgement(self.originator_conversation_id, self.conversation_id)

    def labels(self) -> dict[str, str]:
        return {
            "product": self.product.name,
            "conversation_id": self.conversation_id,
            "originator_conversation_id": self.originator_conversation_id,
        }

    def describe(self, now: float) -> dict[str, Any]:
        """The control API's view (reads only: it runs under the state lock)."""
        decision = self.decision
        return {
            **self.labels(),
            "initiator": self.initiation.initiator,
            "organization": self.initiation.organization,
            "credential_valid": self.credential_valid,
            "request": dataclasses.asdict(self.details),
            "result_url": self.initiation.result_url,
            "queue_timeout_url": self.initiation.queue_timeout_url,
            "scripted": None if self.outcome is None else self.outcome.to_json(),
            "delivery": self.delivery,
            "accepted_at": self.accepted_at,
            "decision_at": self.decision_at,
            "decided": decision is not None,
            "result_code": None if decision is None else decision.result_code,
            "result_desc": None if decision is None else decision.result_desc,
            "transaction_id": None if decision is None else decision.transaction_id,
            "callbacks": [callback.describe() for callback in self.callbacks],
            "deliveries": [dict(record) for record in self.deliveries],
        }


def queue_timeout_notice(at: float) -> Decision:
    """The QueueTimeOutURL body: the Result envelope with sparse fields (NOTES.md)."""
    return Decision(
        result_code=result_codes.QUEUE_TIMEOUT,
        result_desc=result_codes.QUEUE_TIMEOUT_DESCRIPTION,
        transaction_id=placeholder_receipt(at),
    )


def failure(outcome: Outcome, at: float, **shape: Any) -> Decision:
    """A failed Result: no ResultParameters unless `shape` says otherwise (B2B)."""
    return Decision(
        result_code=outcome.result_code,
        result_desc=outcome.result_desc or "",
        transaction_id=shape.pop("transaction_id", placeholder_receipt(at)),
        **shape,
    )


def refusal(transaction: ResultTransaction) -> Outcome | None:
    """The failure every product checks first: 2001 for an unknown initiator or a wrong
    SecurityCredential, then a scripted non-zero outcome. None: go on with the product's rules."""
    if not transaction.credential_valid:
        return Outcome(result_codes.INITIATOR_INVALID)
    outcome = transaction.outcome
    if outcome is not None and outcome.result_code != result_codes.SUCCESS:
        return outcome
    return None
