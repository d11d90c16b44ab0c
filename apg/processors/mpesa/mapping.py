"""Pure Daraja mapping: passwords, payloads, callback parsing and the result-code table.

Nothing here does I/O, so every rule about Daraja's wire format is unit-testable.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from apg.payments.status import PaymentStatus

EAT = timezone(timedelta(hours=3), "EAT")

# Daraja refuses callback URLs containing these, in any case, anywhere (API.md §15.4).
FORBIDDEN_CALLBACK_WORDS = ("m-pesa", "mpesa", "safaricom", "exec", "exe", "cmd", "sql", "query")

# Invalid-token codes differ by product and era (API.md §18.6); all mean "refresh the token".
INVALID_TOKEN_CODES = frozenset({"404.001.03", "401.002.01", "400.003.01", "401.003.01"})
STK_QUERY_PENDING_CODE = "500.001.1001"
STK_QUERY_PENDING_MESSAGE = "The transaction is being processed"

# ResultCode -> status. 1019 (expired) and 1036 (2019's SMSC ACK timeout) are timeouts too.
STATUS_BY_RESULT_CODE = {
    "0": PaymentStatus.COMPLETED,
    "1032": PaymentStatus.CANCELLED,
    "1037": PaymentStatus.TIMEOUT,
    "1019": PaymentStatus.TIMEOUT,
    "1036": PaymentStatus.TIMEOUT,
}


class CallbackFormatError(ValueError):
    """The callback body is not a Daraja STK callback."""


@dataclass(frozen=True)
class Shortcode:
    """How a tenant's shortcode appears in an STK Push (derived, never asked of merchants)."""

    business_short_code: str
    party_b: str
    transaction_type: str

    @classmethod
    def for_kind(cls, kind: str, shortcode: str, store_number: str | None) -> Shortcode:
        if kind == "till":
            if not store_number:
                raise ValueError("a till needs its store number")
            return cls(store_number, shortcode, "CustomerBuyGoodsOnline")
        return cls(shortcode, shortcode, "CustomerPayBillOnline")


@dataclass(frozen=True)
class StkOutcome:
    """A decided STK Push, from a callback or an STK Query."""

    checkout_request_id: str
    merchant_request_id: str | None
    result_code: str
    result_desc: str
    amount_minor: int | None = None
    receipt_number: str | None = None
    transaction_date: datetime | None = None
    phone_number: str | None = None

    @property
    def status(self) -> PaymentStatus:
        return status_for_result_code(self.result_code)


def status_for_result_code(code: Any) -> PaymentStatus:
    return STATUS_BY_RESULT_CODE.get(str(code).strip(), PaymentStatus.FAILED)


def forbidden_callback_word(url: str) -> str | None:
    lowered = url.lower()
    return next((w for w in FORBIDDEN_CALLBACK_WORDS if w in lowered), None)


def daraja_timestamp(now: datetime) -> str:
    """YYYYMMDDHHmmss in East Africa Time, as Daraja expects."""
    return now.astimezone(EAT).strftime("%Y%m%d%H%M%S")


def stk_password(business_short_code: str, passkey: str, timestamp: str) -> str:
    raw = f"{business_short_code}{passkey}{timestamp}".encode()
    return base64.b64encode(raw).decode("ascii")


def stk_push_payload(
    shortcode: Shortcode,
    passkey: str,
    *,
    amount_minor: int,
    phone_number: str,
    reference: str,
    description: str,
    callback_url: str,
    now: datetime,
) -> dict[str, Any]:
    """The processrequest body. Amount goes out in whole shillings."""
    if amount_minor % 100:
        raise ValueError("Daraja takes whole shillings only")
    timestamp = daraja_timestamp(now)
    return {
        "BusinessShortCode": shortcode.business_short_code,
        "Password": stk_password(shortcode.business_short_code, passkey, timestamp),
        "Timestamp": timestamp,
        "TransactionType": shortcode.transaction_type,
        "Amount": amount_minor // 100,
        "PartyA": phone_number,
        "PartyB": shortcode.party_b,
        "PhoneNumber": phone_number,
        "CallBackURL": callback_url,
        "AccountReference": reference,
        "TransactionDesc": description,
    }


def stk_query_payload(
    business_short_code: str, passkey: str, checkout_request_id: str, now: datetime
) -> dict[str, Any]:
    timestamp = daraja_timestamp(now)
    return {
        "BusinessShortCode": business_short_code,
        "Password": stk_password(business_short_code, passkey, timestamp),
        "Timestamp": timestamp,
        "CheckoutRequestID": checkout_request_id,
    }


def parse_stk_callback(body: Any) -> StkOutcome:
    """Parse `{"Body": {"stkCallback": …}}`; items are found by Name, never by position.

    Parse the raw text with `json.loads(..., parse_float=Decimal)` so amounts stay exact.
    """
    try:
        cb = body["Body"]["stkCallback"]
        checkout_id, result_code = cb["CheckoutRequestID"], cb["ResultCode"]
    except (KeyError, TypeError) as exc:
        raise CallbackFormatError(f"missing {exc}") from exc
    if not isinstance(checkout_id, str) or not checkout_id:
        raise CallbackFormatError("CheckoutRequestID must be a non-empty string")
    if isinstance(result_code, bool) or not isinstance(result_code, int | str | Decimal):
        raise CallbackFormatError("ResultCode must be a number or a string")
    items = _items_by_name(cb.get("CallbackMetadata"))
    return StkOutcome(
        checkout_request_id=checkout_id,
        merchant_request_id=_opt_str(cb.get("MerchantRequestID")),
        result_code=str(result_code).strip(),
        result_desc=str(cb.get("ResultDesc") or ""),
        amount_minor=_minor_units(items.get("Amount")),
        receipt_number=_opt_str(items.get("MpesaReceiptNumber")),
        transaction_date=parse_daraja_datetime(items.get("TransactionDate")),
        phone_number=_opt_str(items.get("PhoneNumber")),
    )


def parse_stk_query(body: Any) -> StkOutcome:
    """Parse a final STK Query answer (ResultCode arrives as a string there)."""
    try:
        return StkOutcome(
            checkout_request_id=str(body["CheckoutRequestID"]),
            merchant_request_id=_opt_str(body.get("MerchantRequestID")),
            result_code=str(body["ResultCode"]).strip(),
            result_desc=str(body.get("ResultDesc") or ""),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise CallbackFormatError(f"not an STK Query result: missing {exc}") from exc


def parse_daraja_datetime(value: Any) -> datetime | None:
    """20221117155745 (number or string, EAT) -> aware UTC datetime; None if absent or odd."""
    text = str(value).strip() if value is not None else ""
    if not re.fullmatch(r"\d{14}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=EAT).astimezone(UTC)
    except ValueError:
        return None


def _items_by_name(metadata: Any) -> dict[str, Any]:
    items = metadata.get("Item") if isinstance(metadata, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        return {}
    return {i["Name"]: i.get("Value") for i in items if isinstance(i, dict) and "Name" in i}


def _minor_units(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        cents = Decimal(str(value)) * 100
    except InvalidOperation:
        return None
    return int(cents) if cents == cents.to_integral_value() else None


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
