"""One accepted STK push: its scripted outcomes, the callbacks it owes and its STK Query answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from daraja_emulator.ids import receipt_prefix
from daraja_emulator.products import stk_callback
from daraja_emulator.products.stk_callback import CallbackStyle
from daraja_emulator.products.stk_codes import SUCCESS
from daraja_emulator.scenarios import Outcome
from daraja_emulator.transaction import FOLLOW_UP, ScheduledCallback

QUERY_DESCRIPTION = "The service request has been accepted successsfully"  # sic: live typo


@dataclass(frozen=True)
class StkPushRequest:
    """The validated fields of a processrequest body (numbers normalised to digit strings)."""

    business_short_code: str
    timestamp: str
    transaction_type: str
    amount: int
    party_a: str
    party_b: str
    phone_number: str
    callback_url: str
    account_reference: str
    transaction_desc: str | None


@dataclass
class StkPush:
    """An accepted push. callbacks[0] carries the outcome and is due when the push is decided;
    an optional follow-up callback later carries `follow_up` (e.g. 1037, then 0)."""

    checkout_request_id: str
    merchant_request_id: str
    request: StkPushRequest
    accepted_at: float
    outcome: Outcome
    receipt_tail: str
    callbacks: list[ScheduledCallback]
    follow_up: Outcome | None = None
    style: CallbackStyle = field(default_factory=CallbackStyle)
    delivery: str = "normal"
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.checkout_request_id

    @property
    def callback_url(self) -> str:
        return self.request.callback_url

    @property
    def decide_at(self) -> float:
        return self.callbacks[0].due_at

    def is_decided(self, now: float) -> bool:
        return now >= self.decide_at

    def latest_callback(self, now: float) -> ScheduledCallback:
        """The last callback due by `now` (the first one if none is): what Daraja says now."""
        due = [c for c in self.callbacks if c.due_at <= now]
        return due[-1] if due else self.callbacks[0]

    def outcome_of(self, callback: ScheduledCallback) -> Outcome:
        if callback.kind == FOLLOW_UP and self.follow_up is not None:
            return self.follow_up
        return self.outcome

    def receipt_at(self, decided_at: float) -> str:
        """MpesaReceiptNumber: date letters of the (EAT) decision day + 7 random characters."""
        return receipt_prefix(decided_at) + self.receipt_tail

    def render_callback(self, callback: ScheduledCallback) -> str:
        """The exact JSON text Daraja POSTs for this callback, decided at its due time."""
        outcome = self.outcome_of(callback)
        items = None
        if outcome.result_code == SUCCESS:
            items = stk_callback.success_items(
                self.request.amount,
                self.receipt_at(callback.due_at),
                callback.due_at,
                self.request.phone_number,
                self.style,
            )
        return stk_callback.render(
            self.merchant_request_id,
            self.checkout_request_id,
            outcome.result_code,
            outcome.result_desc or "",
            items,
        )

    def query_answer(self, now: float) -> dict[str, str]:
        """STK Query's final answer (the follow-up once due): string ResultCode, live wording."""
        outcome = self.outcome_of(self.latest_callback(now))
        return {
            "ResponseCode": "0",
            "ResponseDescription": QUERY_DESCRIPTION,
            "MerchantRequestID": self.merchant_request_id,
            "CheckoutRequestID": self.checkout_request_id,
            "ResultCode": str(outcome.result_code),
            "ResultDesc": outcome.result_desc or "",
        }

    def labels(self) -> dict[str, str]:
        return {"product": "stkpush", "checkout_request_id": self.checkout_request_id}

    def describe(self, now: float) -> dict[str, Any]:
        """The control API's view of this push."""
        latest = self.latest_callback(now)
        paid = self.is_decided(now) and self.outcome_of(latest).result_code == SUCCESS
        request = self.request
        return {
            "checkout_request_id": self.checkout_request_id,
            "merchant_request_id": self.merchant_request_id,
            "business_short_code": request.business_short_code,
            "transaction_type": request.transaction_type,
            "phone": request.phone_number,
            "party_a": request.party_a,
            "party_b": request.party_b,
            "amount": request.amount,
            "account_reference": request.account_reference,
            "transaction_desc": request.transaction_desc,
            "callback_url": request.callback_url,
            "result_code": self.outcome.result_code,
            "result_desc": self.outcome.result_desc,
            "follow_up": None if self.follow_up is None else self.follow_up.to_json(),
            "delivery": self.delivery,
            "accepted_at": self.accepted_at,
            "decide_at": self.decide_at,
            "decided": self.is_decided(now),
            "receipt": self.receipt_at(latest.due_at) if paid else None,
            "callbacks": [callback.describe() for callback in self.callbacks],
            "deliveries": [dict(record) for record in self.deliveries],
        }
