"""What the hosted checkout page shows: one value the templates render and the status endpoint
serializes, so the page without JavaScript and the page polling with it always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# open: the customer may pay (no attempt yet, or the last one failed: `message` says why).
# waiting: a prompt is on the customer's phone, or M-Pesa has not answered yet.
# succeeded: paid (receipt); completed: opened again after it was paid.
# expired: the session ran out unpaid; not_found: no such page (a mistyped or retired link).
State = Literal["open", "waiting", "succeeded", "completed", "expired", "not_found"]
FINAL: frozenset[str] = frozenset({"succeeded", "completed", "expired", "not_found"})


@dataclass(frozen=True)
class Paybill:
    """How to pay without a prompt: from the M-Pesa menu, to the merchant's number."""

    kind: Literal["paybill", "till"]
    business_number: str  # the paybill or till number the customer types
    account_number: str | None  # paybill only: the session's own; it completes the session


@dataclass(frozen=True)
class Urls:
    pay: str  # POST, form field `phone`
    status: str  # GET: CheckoutView.status_json()
    qr: str | None  # GET: a PNG of the Dynamic QR code (None: not offered for this account)
    success: str  # the merchant's success_url with ?session_id=…
    cancel: str  # the merchant's cancel_url with ?session_id=…
    assets: str  # the folder of checkout.css / checkout.js, ending in "/"


@dataclass(frozen=True)
class CheckoutView:
    session_id: str
    merchant_name: str
    amount: int  # minor units (cents); `amount_text` is what the page prints
    amount_text: str  # "KES 1,000"
    reference: str
    description: str | None
    state: State
    urls: Urls
    phone: str = ""  # prefilled, or what the customer typed
    error: str | None = None  # the phone number's problem, shown beside the field
    message: str | None = None  # waiting: what to do; open after a failure: what went wrong
    receipt: str | None = None
    retry: bool = False  # open after a failure the customer may simply try again
    paybill: Paybill | None = None
    expires_at: str = ""  # ISO 8601, UTC
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def status_json(self) -> dict[str, Any]:
        """GET /checkout/<token>/status: what the polling page needs to change itself."""
        return {
            "state": self.state,
            "message": self.message,
            "receipt": self.receipt,
            "retry": self.retry,
            "redirect_url": self.urls.success if self.state in ("succeeded", "completed") else None,
        }
