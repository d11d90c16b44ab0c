"""Customer to Business (C2B): register URLs, simulate, validation and confirmation (API.md §4).

Pure: payloads in, parsed events and answers out. Payers are identified as Daraja sends them:
v1 URLs get a SHA-256 of the MSISDN, v2 a masked one (2547 ***** 126), 2017-era traffic the
number itself; only the last becomes a phone number, the others are kept as they came. A
TransID that is no M-Pesa receipt is a problem the payment carries: payments records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apg.payments.collections import ACCEPTED
from apg.payments.ports import CallbackRejected, Incoming, ProcessorEvent, Ref
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products import evidence

TRANSACTION_TYPE = "c2b_payment"
METHOD_TYPE = "mpesa_c2b"
VALIDATION_KIND = "c2b-validation"
CONFIRMATION_KIND = "c2b-confirmation"
KINDS = frozenset({VALIDATION_KIND, CONFIRMATION_KIND})
URL_KINDS = (CONFIRMATION_KIND, VALIDATION_KIND)  # ConfirmationURL, ValidationURL
TRANS_ID = "trans_id"
CURRENCY = "KES"
VERSIONS = ("v1", "v2")  # v1 callbacks carry a hashed MSISDN, v2 a masked one
RESPONSE_TYPES = ("Completed", "Cancelled")  # what M-Pesa does when validation does not answer
COMMAND_IDS = ("CustomerPayBillOnline", "CustomerBuyGoodsOnline")

# A refused validation's code selects the SMS the customer gets (API.md §4.3).
REJECTION_CODES = {
    "invalid_msisdn": "C2B00011",
    "invalid_account_number": "C2B00012",
    "invalid_amount": "C2B00013",
    "invalid_kyc": "C2B00014",
    "invalid_shortcode": "C2B00015",
    "other": "C2B00016",
}
ACCEPT = {"ResultCode": "0", "ResultDesc": "Accepted"}
CONFIRMATION_ACK = {"ResultCode": 0, "ResultDesc": "Success"}

PLAIN = re.compile(r"254[17]\d{8}")
HASHED = re.compile(r"[0-9a-fA-F]{64}")
SHORTCODE = re.compile(r"\d{4,12}")
MAX_RECEIPT_LENGTH = 32  # the receipt column
MAX_REFERENCE_LENGTH = 64  # the reference column; Daraja's BillRefNumber is at most 20


def register_path(version: str) -> str:
    return f"/mpesa/c2b/{_version(version)}/registerurl"


def simulate_path(version: str) -> str:
    return f"/mpesa/c2b/{_version(version)}/simulate"


def register_payload(
    shortcode: str, response_type: str, confirmation_url: str, validation_url: str
) -> dict[str, Any]:
    """The registerurl body, as Daraja's docs show it."""
    if response_type not in RESPONSE_TYPES:
        raise ValueError(f"ResponseType must be one of {', '.join(RESPONSE_TYPES)}")
    return {
        "ShortCode": shortcode,
        "ResponseType": response_type,
        "ConfirmationURL": confirmation_url,
        "ValidationURL": validation_url,
    }


def simulate_payload(
    shortcode: str, command_id: str, amount_minor: int, msisdn: str, bill_ref_number: str
) -> dict[str, Any]:
    """The simulate body, typed as Daraja's docs sample (numbers for ShortCode, Amount, Msisdn).
    Amount goes out in whole shillings; a till's BillRefNumber is empty."""
    if command_id not in COMMAND_IDS:
        raise ValueError(f"CommandID must be one of {', '.join(COMMAND_IDS)}")
    if amount_minor % 100 or amount_minor <= 0:
        raise ValueError("Daraja takes whole shillings only")
    if not PLAIN.fullmatch(msisdn) or not shortcode.isdigit():
        raise ValueError("Msisdn must be 2547…/2541… and ShortCode digits")
    return {
        "ShortCode": int(shortcode),
        "CommandID": command_id,
        "Amount": amount_minor // 100,
        "Msisdn": int(msisdn),
        "BillRefNumber": bill_ref_number,
    }


@dataclass(frozen=True)
class Acknowledged:
    """Daraja took a register or simulate request (note its spelling, OriginatorCoversationID)."""

    originator_conversation_id: str | None
    description: str | None


def acknowledgement(body: Mapping[str, Any]) -> Acknowledged | None:
    """The answer to register or simulate; None when Daraja did not accept (ResponseCode ≠ 0).
    2019 sandbox answers had no ResponseCode, only the ids: accepted."""
    code = body.get("ResponseCode")
    originator = body.get("OriginatorCoversationID") or body.get("OriginatorConversationID")
    if (code is None and not originator) or (code is not None and str(code).strip() != "0"):
        return None
    return Acknowledged(_cut(originator, 64), _cut(body.get("ResponseDescription"), 255))


def parse_confirmation(raw: bytes) -> ProcessorEvent:
    """A confirmation: money that has moved, found again by its TransID."""
    incoming = _payment(raw, confirmed=True)
    assert incoming.receipt is not None
    return ProcessorEvent(refs=(Ref(TRANS_ID, incoming.receipt),), incoming=incoming)


def parse_validation(raw: bytes) -> ProcessorEvent:
    """A validation request: a payment asking to be let in; it has not moved yet."""
    incoming = _payment(raw, confirmed=False)
    refs = (Ref(TRANS_ID, incoming.receipt),) if incoming.receipt else ()
    return ProcessorEvent(refs=refs, validation=incoming)


def answer(kind: str, verdict: str) -> dict[str, Any]:
    """Daraja's expected body: the confirmation ack, or a validation's accept or reject (with
    the code for the reason; a reason Daraja has no code for is C2B00016, other)."""
    if kind == CONFIRMATION_KIND:
        return dict(CONFIRMATION_ACK)
    if verdict == ACCEPTED:
        return dict(ACCEPT)
    reason = verdict.partition(":")[2]
    return {
        "ResultCode": REJECTION_CODES.get(reason, REJECTION_CODES["other"]),
        "ResultDesc": "Rejected",
    }


def msisdn_format(msisdn: str) -> str:
    """plain (2547…), hashed (v1: SHA-256 hex), masked (v2: 2547 ***** 126) or unknown."""
    if PLAIN.fullmatch(msisdn):
        return "plain"
    if HASHED.fullmatch(msisdn):
        return "hashed"
    return "masked" if "*" in msisdn else "unknown"


def _payment(raw: bytes, *, confirmed: bool) -> Incoming:
    body = mapping.loads(raw)
    if not isinstance(body, dict) or "TransAmount" not in body:
        raise CallbackRejected("not a C2B payment: TransAmount is missing")
    trans_id = mapping.id_text(body.get("TransID"), "TransID", required=confirmed)
    if trans_id is not None and len(trans_id) > MAX_RECEIPT_LENGTH:
        raise CallbackRejected(f"TransID must be at most {MAX_RECEIPT_LENGTH} characters")
    amount, problem = mapping.minor_units(body.get("TransAmount"), "TransAmount")
    if amount is None:
        raise CallbackRejected(problem or "TransAmount is missing")
    shortcode = str(mapping.short_text(body.get("BusinessShortCode"), "BusinessShortCode") or "")
    if not SHORTCODE.fullmatch(shortcode.strip()):
        raise CallbackRejected("BusinessShortCode must be 4-12 digits")
    msisdn = _text(body.get("MSISDN"), 255, "MSISDN") or ""
    return Incoming(
        transaction_type=TRANSACTION_TYPE,
        payment_method_type=METHOD_TYPE,
        amount=amount,
        currency=CURRENCY,
        receipt=trans_id,
        reference=(_text(body.get("BillRefNumber"), 255, "BillRefNumber") or "")[
            :MAX_REFERENCE_LENGTH
        ],
        account_number=shortcode.strip(),
        phone_number=msisdn if PLAIN.fullmatch(msisdn) else None,
        transaction_date=mapping.parse_daraja_datetime(body.get("TransTime")),
        details=_details(body, shortcode.strip(), msisdn),
        problems=tuple(evidence.receipt_problems(trans_id)),
    )


def _details(body: Mapping[str, Any], shortcode: str, msisdn: str) -> dict[str, Any]:
    """What arrived beside the money, as it arrived (blank balances in validation: null)."""
    balance = body.get("OrgAccountBalance")
    cents, _ = mapping.minor_units(balance if balance not in ("", None) else None, "balance")
    return {
        "msisdn": msisdn or None,
        "msisdn_format": msisdn_format(msisdn),
        "first_name": _text(body.get("FirstName"), 100, "FirstName"),
        "middle_name": _text(body.get("MiddleName"), 100, "MiddleName"),
        "last_name": _text(body.get("LastName"), 100, "LastName"),
        "business_short_code": shortcode,
        "mpesa_transaction_type": _text(body.get("TransactionType"), 40, "TransactionType"),
        "invoice_number": _text(body.get("InvoiceNumber"), 100, "InvoiceNumber"),
        "org_account_balance": cents,
        "third_party_trans_id": _text(body.get("ThirdPartyTransID"), 100, "ThirdPartyTransID"),
    }


def _text(value: Any, limit: int, name: str = "value") -> str | None:
    """A stripped string of at most `limit` characters, or None when absent or blank."""
    text = mapping.short_text(value, name)
    if text is None or not text.strip():
        return None
    if len(text.strip()) > limit:
        raise CallbackRejected(f"{name} must be at most {limit} characters")
    return text.strip()


def _cut(value: Any, limit: int) -> str | None:
    """A synchronous answer's text, cut to fit (an odd answer is not worth refusing)."""
    return str(value)[:limit] if isinstance(value, str | int) and str(value) else None


def _version(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {', '.join(VERSIONS)}")
    return version
