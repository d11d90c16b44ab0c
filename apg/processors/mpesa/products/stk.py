"""M-Pesa Express (STK Push): payload builders, callback and query parsers, result codes (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import replace
from datetime import datetime
from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import (
    CallbackRejected,
    Misconfigured,
    Operation,
    Outcome,
    ProcessorEvent,
    Ref,
    Refused,
    StillPending,
)
from apg.processors.mpesa import mapping
from apg.processors.mpesa.accounts import Shortcode
from apg.processors.mpesa.products import evidence

TRANSACTION_TYPE = "stk_push"
PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
QUERY_PATH = "/mpesa/stkpushquery/v1/query"
CALLBACK_KIND = "stk"
CHECKOUT = "checkout_request_id"
MERCHANT_REQUEST = "merchant_request_id"
QUERY_PENDING_CODE = "500.001.1001"
QUERY_PENDING_MESSAGE = "the transaction is being processed"
# 500.001.1001 also says the shortcode or passkey is wrong, or the customer is busy (API.md §2).
WRONG_CREDENTIALS_CODE = "500.001.1001"
MISCONFIGURED_SETTING = {"wrong credentials": "passkey", "merchant does not exist": "shortcode"}
SUBSCRIBER_LOCKED = "unable to lock subscriber"
SUBSCRIBER_LOCK_SECONDS = 60  # "wait ~1 min" (API.md §4): the open prompt expires by then

# ResultCode -> status. 1019 (expired) and 1036 (2019's SMSC ACK timeout) are timeouts too.
STATUS_BY_RESULT_CODE = {
    "0": PaymentStatus.COMPLETED,
    "1032": PaymentStatus.CANCELLED,
    "1037": PaymentStatus.TIMEOUT,
    "1019": PaymentStatus.TIMEOUT,
    "1036": PaymentStatus.TIMEOUT,
}


def status_for_result_code(code: Any) -> PaymentStatus:
    return STATUS_BY_RESULT_CODE.get(str(code).strip(), PaymentStatus.FAILED)


def push_payload(
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
    timestamp = mapping.daraja_timestamp(now)
    return {
        "BusinessShortCode": shortcode.business_short_code,
        "Password": mapping.stk_password(shortcode.business_short_code, passkey, timestamp),
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


def query_payload(
    business_short_code: str, passkey: str, checkout_request_id: str, now: datetime
) -> dict[str, Any]:
    timestamp = mapping.daraja_timestamp(now)
    return {
        "BusinessShortCode": business_short_code,
        "Password": mapping.stk_password(business_short_code, passkey, timestamp),
        "Timestamp": timestamp,
        "CheckoutRequestID": checkout_request_id,
    }


def accepted_refs(body: dict[str, Any]) -> tuple[Ref, ...] | None:
    """The refs of an accepted push, or None when Daraja did not accept it (ResponseCode ≠ 0)."""
    checkout = body.get("CheckoutRequestID")
    if (
        str(body.get("ResponseCode")).strip() != "0"
        or not isinstance(checkout, str)
        or not checkout
    ):
        return None
    refs = [Ref(CHECKOUT, checkout[: mapping.MAX_ID_LENGTH])]
    merchant = body.get("MerchantRequestID")
    if isinstance(merchant, str) and merchant:
        refs.append(Ref(MERCHANT_REQUEST, merchant[: mapping.MAX_ID_LENGTH]))
    return tuple(refs)


def parse_callback(raw: bytes) -> ProcessorEvent:
    """`{"Body": {"stkCallback": …}}` -> event; items are found by Name, never by position."""
    body = mapping.loads(raw)
    try:
        cb = body["Body"]["stkCallback"]
    except (KeyError, TypeError) as exc:
        raise CallbackRejected("not an STK callback: Body.stkCallback is missing") from exc
    if not isinstance(cb, dict):
        raise CallbackRejected("Body.stkCallback must be an object")
    checkout = mapping.id_text(cb.get("CheckoutRequestID"), "CheckoutRequestID")
    code = mapping.result_code(cb.get("ResultCode"))
    desc = mapping.short_text(cb.get("ResultDesc"), "ResultDesc")
    mapping.id_text(cb.get("MerchantRequestID"), "MerchantRequestID", required=False)
    items = mapping.items_by_name(cb.get("CallbackMetadata"), "Item")
    amount, amount_problem = mapping.minor_units(items.get("Amount"), "amount")
    receipt = items.get("MpesaReceiptNumber")
    receipt_text = mapping.id_text(receipt, "MpesaReceiptNumber", required=False)
    phone = items.get("PhoneNumber")
    outcome = Outcome(
        status=status_for_result_code(code),
        result_code=code,
        result_desc=desc,
        receipt=receipt_text,
        amount=amount,
        transaction_date=mapping.parse_daraja_datetime(items.get("TransactionDate")),
        settles=True,
        problems=(amount_problem,) if amount_problem else (),
        detail={"phone_number": str(phone)[:15]} if isinstance(phone, int | str) else {},
    )
    return ProcessorEvent(refs=(Ref(CHECKOUT, str(checkout)),), outcome=outcome)


def mismatches(operation: Operation, detail: Mapping[str, Any], ours: Set[str]) -> list[str]:
    """A success names the payer's PhoneNumber: the phone the push went to. (It names no
    shortcode: a push's own callback URL is all that ties it to the account.)"""
    payer = detail.get("phone_number")
    return evidence.party_problems("PhoneNumber", payer, operation.phone_number)


def parse_query(body: dict[str, Any]) -> Outcome:
    """A decided STK Query answer: status only (no receipt, no amount); ResultCode is a string."""
    code = mapping.result_code(body.get("ResultCode"))
    desc = mapping.short_text(body.get("ResultDesc"), "ResultDesc")
    return Outcome(status=status_for_result_code(code), result_code=code, result_desc=desc)


def classify_refusal(refused: Refused) -> Refused | Misconfigured:
    """500.001.1001 carries several answers: the tenant's own credentials being wrong is a
    configuration error, a customer with a prompt already open is a decline worth retrying."""
    if refused.code != WRONG_CREDENTIALS_CODE:
        return refused
    message = refused.message.lower()
    if SUBSCRIBER_LOCKED in message:
        return replace(refused, retry_after_seconds=SUBSCRIBER_LOCK_SECONDS)
    for words, setting in MISCONFIGURED_SETTING.items():
        if words in message:
            return Misconfigured(setting, refused.code, refused.message)
    return refused


def query_still_pending(code: str, message: str) -> StillPending | None:
    """Daraja answers a query on an undecided push with an error envelope; that is not a no."""
    if code == QUERY_PENDING_CODE and QUERY_PENDING_MESSAGE in message.lower():
        return StillPending()
    return None
