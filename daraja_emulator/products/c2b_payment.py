"""A shortcode's registered C2B URLs, and one simulated C2B payment with the validation request
and confirmation it owes (API.md §4.1-§4.3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from daraja_emulator.clock import eat_stamp
from daraja_emulator.money import shillings
from daraja_emulator.products import c2b_payload
from daraja_emulator.products.c2b_payload import Payer, Verdict
from daraja_emulator.transaction import ScheduledCallback

VALIDATION = "validation"  # the kinds of a C2B payment's callbacks, in delivery order
CONFIRMATION = "confirmation"
PENDING, COMPLETED, CANCELLED = "pending", "completed", "cancelled"


@dataclass(frozen=True)
class C2BRegistration:
    """What registerurl stored for a shortcode; `version` decides the callbacks' MSISDN format."""

    shortcode: str
    version: str
    response_type: str
    confirmation_url: str
    validation_url: str
    registered_at: float
    originator_conversation_id: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class C2BRequest:
    """The validated simulate fields; `version` is the simulate endpoint's (it changes nothing)."""

    version: str
    shortcode: str
    command_id: str
    amount: int
    msisdn: str
    bill_ref_number: str | None


@dataclass
class C2BPayment:
    """A customer's payment to a shortcode, decided once: by the ValidationURL's answer when
    the confirmation falls due (callbacks[0] is the validation request, if any), at once when
    nothing is registered.

    `credit` moves the money when it completes (products/clearing.py) and returns the
    shortcode's Utility Account balance after, in cents (the confirmation's OrgAccountBalance).
    """

    trans_id: str
    originator_conversation_id: str
    conversation_id: str
    request: C2BRequest
    payer: Payer
    registration: C2BRegistration | None  # as registered when the payment was made
    accepted_at: float
    callbacks: list[ScheduledCallback]
    credit: Callable[[C2BPayment, float], int]
    delivery: str = "normal"
    verdict: Verdict | None = None
    decided_at: float | None = None
    org_account_balance: int | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.trans_id

    @property
    def callback_url(self) -> str:
        return "" if self.registration is None else self.registration.confirmation_url

    @property
    def state(self) -> str:
        if self.verdict is None:
            return PENDING
        return COMPLETED if self.verdict.completed else CANCELLED

    def callback(self, kind: str) -> ScheduledCallback | None:
        return next((c for c in self.callbacks if c.kind == kind), None)

    def decide(self, verdict: Verdict, at: float) -> None:
        """Fix the outcome once; a completed payment credits the shortcode at `at`."""
        if self.verdict is not None:
            return
        if verdict.completed:
            self.org_account_balance = self.credit(self, at)
        self.decided_at, self.verdict = at, verdict

    def render_callback(self, callback: ScheduledCallback) -> str | None:
        """The validation request; or, deciding the payment first, its confirmation (None:
        cancelled, so no confirmation is owed)."""
        if callback.kind == VALIDATION:
            return self._render()
        self.decide(self._verdict(), self._decision_time(callback))
        if self.state != COMPLETED:
            return None
        assert self.verdict is not None
        return self._render(self.org_account_balance, self.verdict.third_party_trans_id)

    def labels(self) -> dict[str, str]:
        return {
            "product": "c2b",
            "trans_id": self.trans_id,
            "originator_conversation_id": self.originator_conversation_id,
        }

    def describe(self, now: float) -> dict[str, Any]:
        """The control API's view (reads only: it runs under the state lock)."""
        registration = self.registration
        balance = self.org_account_balance
        return {
            **self.labels(),
            "conversation_id": self.conversation_id,
            "request": dataclasses.asdict(self.request),
            "registration": None if registration is None else registration.to_json(),
            "accepted_at": self.accepted_at,
            "trans_time": eat_stamp(self.accepted_at),
            "delivery": self.delivery,
            "state": self.state,
            "verdict": None if self.verdict is None else self.verdict.to_json(),
            "decided_at": self.decided_at,
            "org_account_balance": None if balance is None else shillings(balance),
            "callbacks": [callback.describe() for callback in self.callbacks],
            "deliveries": [dict(record) for record in self.deliveries],
        }

    def _verdict(self) -> Verdict:
        if self.registration is None:
            return Verdict(True, "no_urls")
        if self.callback(VALIDATION) is None:
            return Verdict(True, "no_validation")
        record = next((r for r in self.deliveries if r["kind"] == VALIDATION), None)
        return c2b_payload.verdict(record, self.registration.response_type)

    def _decision_time(self, confirmation: ScheduledCallback) -> float:
        """When M-Pesa decided: as the validation request went out (else the confirmation)."""
        validation = self.callback(VALIDATION)
        return (validation or confirmation).due_at

    def _render(self, balance: int | None = None, third_party_trans_id: str = "") -> str:
        assert self.registration is not None  # callbacks exist only for registered shortcodes
        request = self.request
        return c2b_payload.render(
            version=self.registration.version,
            trans_id=self.trans_id,
            trans_time=self.accepted_at,
            amount=request.amount,
            shortcode=request.shortcode,
            command_id=request.command_id,
            bill_ref_number=request.bill_ref_number,
            payer=self.payer,
            org_account_balance=balance,
            third_party_trans_id=third_party_trans_id,
        )
