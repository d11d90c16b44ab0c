"""C2B in Daraja's words (API.md §4.3): the validation/confirmation text, the payer's MSISDN per
registered version, and the verdict a ValidationURL's answer gives. Pure functions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from daraja_emulator.clock import eat_stamp
from daraja_emulator.money import shillings

PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"
TRANSACTION_TYPES = {PAYBILL: "Pay Bill", BUY_GOODS: "Buy Goods"}
COMPLETED, CANCELLED = "Completed", "Cancelled"  # ResponseType, exactly so spelt
V1, V2 = "v1", "v2"
COMPACT = (",", ":")


@dataclass(frozen=True)
class Payer:
    """The customer as the callback shows them: MSISDN in the registered version's format."""

    msisdn: str
    name: str  # "John Doe", "NICHOLAS JOHN SONGOK"


@dataclass(frozen=True)
class Verdict:
    """Whether M-Pesa completes a C2B payment, and why.

    `source`: "validation" (the ValidationURL answered), "response_type" (it did not, in time
    or at all: the registered ResponseType decided), "no_validation" (external validation off)
    or "no_urls" (nothing registered: the payment just completes).
    """

    completed: bool
    source: str
    result_code: str | None = None
    result_desc: str | None = None
    third_party_trans_id: str = ""
    problem: str | None = None  # why the answer did not count (timeout, HTTP 500, no ResultCode)

    def to_json(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "source": self.source,
            "result_code": self.result_code,
            "result_desc": self.result_desc,
            "third_party_trans_id": self.third_party_trans_id,
            "problem": self.problem,
        }


def msisdn_as(version: str, msisdn: str) -> str:
    """v1: SHA-256 hex of the 12-digit 2547… number; v2: masked "2547 ***** 126" (§0.1)."""
    if version == V1:
        return hashlib.sha256(msisdn.encode("ascii")).hexdigest()
    return f"{msisdn[:4]} ***** {msisdn[-3:]}"


def names(version: str, full_name: str) -> tuple[str, str, str]:
    """(FirstName, MiddleName, LastName). v2 keeps only the first name, as its docs sample does
    for the sandbox's NICHOLAS JOHN SONGOK (data minimisation); v1 splits the whole name."""
    words = full_name.split()
    first = words[0] if words else ""
    if version == V2 or len(words) < 2:
        return first, "", ""
    return first, " ".join(words[1:-1]), words[-1]


def render(
    *,
    version: str,
    trans_id: str,
    trans_time: float,
    amount: int,
    shortcode: str,
    command_id: str,
    bill_ref_number: str | None,
    payer: Payer,
    org_account_balance: int | None = None,
    third_party_trans_id: str = "",
) -> str:
    """The JSON text of a validation request (no balance) or a confirmation, in the docs' key
    order, every value a string (samples/c2b_confirmation_v2_masked_daraja-docs.json)."""
    first, middle, last = names(version, payer.name)
    body = {
        "TransactionType": TRANSACTION_TYPES[command_id],
        "TransID": trans_id,
        "TransTime": eat_stamp(trans_time),
        "TransAmount": shillings(amount * 100),
        "BusinessShortCode": shortcode,
        "BillRefNumber": bill_ref_number or "",
        "InvoiceNumber": "",
        "OrgAccountBalance": "" if org_account_balance is None else shillings(org_account_balance),
        "ThirdPartyTransID": third_party_trans_id,
        "MSISDN": msisdn_as(version, payer.msisdn),
        "FirstName": first,
        "MiddleName": middle,
        "LastName": last,
    }
    return json.dumps(body, separators=COMPACT)


def verdict(record: dict[str, Any] | None, response_type: str) -> Verdict:
    """What the ValidationURL's answer (a delivery record) decides.

    ResultCode "0" (or 0) accepts, echoing a ThirdPartyTransID; any other code rejects (C2B00011…,
    "1", even "00000000": §14, only 0 is an accept for C2B). No answer in time, a transport
    error, a non-2xx status or a body without a ResultCode: the registered ResponseType decides.
    """
    answer, problem = _answer(record)
    if answer is None:
        return Verdict(response_type == COMPLETED, "response_type", problem=problem)
    code, desc = str(answer["ResultCode"]).strip(), _text(answer.get("ResultDesc")) or None
    if code == "0":
        third_party = _text(answer.get("ThirdPartyTransID"))
        return Verdict(True, "validation", code, desc, third_party_trans_id=third_party)
    return Verdict(False, "validation", code, desc)


def _answer(record: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    if record is None:
        return None, "the validation request was not sent"
    if record["error"]:
        return None, str(record["error"])
    status = record["status_code"]
    if not 200 <= status < 300:
        return None, f"HTTP {status}"
    try:
        body = json.loads(record["response_body"] or "")
    except ValueError:
        return None, "the answer is not JSON"
    code = body.get("ResultCode") if isinstance(body, dict) else None
    if isinstance(code, bool) or not isinstance(code, int | str) or code == "":
        return None, "the answer has no ResultCode"
    return body, None


def _text(value: Any) -> str:
    """A string field of the answer; numbers as their text; anything else empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""
