"""One accepted STK push: its scripted outcome, its callback text and its STK Query answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from daraja_emulator.clock import eat_stamp
from daraja_emulator.ids import receipt_prefix
from daraja_emulator.products.stk_codes import SUCCESS

QUERY_DESCRIPTION = "The service request has been accepted successsfully"  # sic: live typo
COMPACT = (",", ":")


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
    """An accepted push; it is decided once the clock reaches decide_at."""

    checkout_request_id: str
    merchant_request_id: str
    request: StkPushRequest
    accepted_at: float
    decide_at: float
    result_code: int | str
    result_desc: str
    receipt_tail: str
    include_balance_item: bool = False
    delivery_claimed: bool = False
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.checkout_request_id

    @property
    def callback_url(self) -> str:
        return self.request.callback_url

    @property
    def amount(self) -> int:
        return self.request.amount

    @property
    def succeeded(self) -> bool:
        return self.result_code == SUCCESS

    @property
    def receipt(self) -> str:
        """MpesaReceiptNumber: date letters of the (EAT) decision day + 7 random characters."""
        return receipt_prefix(self.decide_at) + self.receipt_tail

    def is_decided(self, now: float) -> bool:
        return now >= self.decide_at

    def render_callback(self) -> str:
        """The exact JSON text Daraja POSTs; Amount is printed with two decimals (`10.00`)."""
        head = json.dumps(
            {
                "MerchantRequestID": self.merchant_request_id,
                "CheckoutRequestID": self.checkout_request_id,
                "ResultCode": self.result_code,
                "ResultDesc": self.result_desc,
            },
            separators=COMPACT,
        )
        if self.succeeded:
            items = ",".join(self._metadata_items())
            head = f'{head[:-1]},"CallbackMetadata":{{"Item":[{items}]}}}}'
        return f'{{"Body":{{"stkCallback":{head}}}}}'

    def _metadata_items(self) -> list[str]:
        items = [
            _item("Amount", f"{self.amount:.2f}"),
            _item("MpesaReceiptNumber", json.dumps(self.receipt)),
            _item("TransactionDate", eat_stamp(self.decide_at)),
            _item("PhoneNumber", self.request.phone_number),
        ]
        if self.include_balance_item:
            items.insert(2, _item("Balance"))
        return items

    def query_answer(self) -> dict[str, str]:
        """STK Query's final answer: string ResultCode, live ResponseDescription."""
        return {
            "ResponseCode": "0",
            "ResponseDescription": QUERY_DESCRIPTION,
            "MerchantRequestID": self.merchant_request_id,
            "CheckoutRequestID": self.checkout_request_id,
            "ResultCode": str(self.result_code),
            "ResultDesc": self.result_desc,
        }

    def labels(self) -> dict[str, str]:
        return {"product": "stkpush", "checkout_request_id": self.checkout_request_id}

    def describe(self, now: float) -> dict[str, Any]:
        """The control API's view of this push."""
        decided = self.is_decided(now)
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
            "result_code": self.result_code,
            "result_desc": self.result_desc,
            "accepted_at": self.accepted_at,
            "decide_at": self.decide_at,
            "decided": decided,
            "receipt": self.receipt if decided and self.succeeded else None,
            "deliveries": [dict(record) for record in self.deliveries],
        }


def _item(name: str, raw_value: str | None = None) -> str:
    """One CallbackMetadata item; `raw_value` is inserted as JSON text, verbatim."""
    if raw_value is None:
        return json.dumps({"Name": name}, separators=COMPACT)
    return f'{{"Name":{json.dumps(name)},"Value":{raw_value}}}'
