"""Account Balance: the balances of a shortcode's accounts, by Result (API.md §7)."""

from __future__ import annotations

from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import Outcome, ProcessorEvent, Ref
from apg.processors.mpesa.products import results
from apg.processors.mpesa.products.base import AsyncRequest

TRANSACTION_TYPE = "balance_inquiry"
KIND = "balance"
PATH = "/mpesa/accountbalance/v1/query"
STATUS_BY_RESULT_CODE = {"0": PaymentStatus.COMPLETED}  # 18, 20, 21, 2001, …: failed
# `<Name>|<Currency>|<n1>|<n2>|<n3>|<n4>`. Safaricom does not say which number is which; API.md
# §7 derives it from a B2B sample (BasicAmount, the available balance, is n2, and n1 = n2 + n3):
# n1 current (ledger), n2 available, n3 reserved, n4 uncleared.
AMOUNT_FIELDS = ("current", "available", "reserved", "uncleared")
MAX_NAME_LENGTH = 64

accepted_refs = results.accepted_refs


def path(request: AsyncRequest) -> str:
    return PATH


def payload(request: AsyncRequest) -> dict[str, Any]:
    """The query body. The shortcode is PartyA; a till is IdentifierType "2"."""
    return {
        "Initiator": request.initiator_name,
        "SecurityCredential": request.security_credential,
        "CommandID": "AccountBalance",
        "PartyA": request.shortcode,
        "IdentifierType": results.identifier_type(request),
        "Remarks": results.remarks(request, "Account balance"),
        "QueueTimeOutURL": request.timeout_url,
        "ResultURL": request.result_url,
    }


def submitted_refs(request: AsyncRequest) -> tuple[Ref, ...]:
    return ()


def parse_result(raw: bytes) -> ProcessorEvent:
    """A balance Result -> event; detail {"accounts": [...], "completed_at"}. Not money."""
    return results.parse_event(raw, _outcome)


def account(line: Any) -> dict[str, Any] | None:
    """`Working Account|KES|700000.00|700000.00|0.00|0.00` -> {"name", "currency", "current",
    "available", "reserved", "uncleared"}, amounts in cents; None when not of that grammar."""
    parts = [part.strip() for part in line.split("|")] if isinstance(line, str) else []
    if len(parts) != 2 + len(AMOUNT_FIELDS) or not parts[0]:
        return None
    amounts = (results.signed_cents(part) for part in parts[2:])
    return {"name": parts[0][:MAX_NAME_LENGTH], "currency": parts[1][:8]} | dict(
        zip(AMOUNT_FIELDS, amounts, strict=True)
    )


def accounts(value: Any) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """An AccountBalance value (accounts joined by `&`) -> (accounts, why some were skipped)."""
    lines = value.split("&") if isinstance(value, str) else []
    parsed = [account(line) for line in lines]
    skipped = tuple(
        f"AccountBalance entry {n} unreadable" for n, a in enumerate(parsed, 1) if not a
    )
    return [a for a in parsed if a], skipped


def _outcome(result: results.Result) -> Outcome:
    found, problems = accounts(result.parameters.get("AccountBalance"))
    completed_at = results.daraja_time(result.parameters.get("BOCompletedTime"))
    return Outcome(
        status=results.status_for(result.code, STATUS_BY_RESULT_CODE),
        result_code=result.code,
        result_desc=result.desc,
        problems=problems,
        detail={"accounts": found, "completed_at": completed_at},
    )
