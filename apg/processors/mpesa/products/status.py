"""Transaction Status: what M-Pesa knows of one transaction, by Result (API.md §8)."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import Operation, Outcome, ProcessorEvent, Ref
from apg.processors.mpesa.products import evidence, results
from apg.processors.mpesa.products.base import AsyncRequest

TRANSACTION_TYPE = "transaction_status"
KIND = "status"
PATH = "/mpesa/transactionstatus/v1/query"
# 0: the query was answered (the looked-up transaction's own state is in transaction_status).
WENT_THROUGH = "Completed"
STATUS_BY_RESULT_CODE = {"0": PaymentStatus.COMPLETED}  # SFC_IC0003, 2001, …: failed

# Every spelling Daraja has used: the 2017 docs wrote keys with spaces and FinalizedTime.
DETAIL = {
    "debit_party_name": (("DebitPartyName",), results.text),
    "credit_party_name": (("CreditPartyName",), results.text),
    "originator_conversation_id": (
        ("OriginatorConversationID", "Originator Conversation ID"),
        results.text,
    ),
    "initiated_time": (("InitiatedTime",), results.daraja_time),
    "debit_account_type": (("DebitAccountType",), results.text),
    "debit_party_charges": (("DebitPartyCharges",), results.charge_cents),
    "transaction_reason": (("TransactionReason",), results.text),
    "reason_type": (("ReasonType",), results.text),
    "transaction_status": (("TransactionStatus",), results.text),
    "finalised_time": (("FinalisedTime", "FinalizedTime"), results.daraja_time),
    "amount": (("Amount",), results.signed_cents),
    "conversation_id": (("ConversationID", "Conversation ID"), results.text),
    "receipt_no": (("ReceiptNo",), results.text),
}

accepted_refs = results.accepted_refs


def path(request: AsyncRequest) -> str:
    return PATH


def payload(request: AsyncRequest) -> dict[str, Any]:
    """The query body: by receipt (transaction_id), by the OriginatorConversationID of an
    earlier request (original_conversation_id), or both."""
    receipt = results.text(request.details.get("transaction_id"))
    original = results.text(request.details.get("original_conversation_id"))
    if not (receipt or original):
        raise ValueError("transaction_id or original_conversation_id is required")
    body = {
        "Initiator": request.initiator_name,
        "SecurityCredential": request.security_credential,
        "CommandID": "TransactionStatusQuery",
        "PartyA": request.shortcode,
        "IdentifierType": results.identifier_type(request),
        "ResultURL": request.result_url,
        "QueueTimeOutURL": request.timeout_url,
        "Remarks": results.remarks(request, "Transaction status"),
    }
    body = results.optional(body, "TransactionID", receipt)
    body = results.optional(body, "OriginalConversationID", original)
    return results.optional(body, "Occasion", results.occasion(request))  # the TS docs' spelling


def submitted_refs(request: AsyncRequest) -> tuple[Ref, ...]:
    return ()


def parse_result(raw: bytes) -> ProcessorEvent:
    """A status Result -> event; the looked-up transaction's fields in detail. Not money."""
    return results.parse_event(raw, _outcome)


def mismatches(operation: Operation, detail: Mapping[str, Any], ours: Set[str]) -> list[str]:
    """What a Result found is the transaction asked about: its receipt (ReceiptNo, of the shape
    of one when it went through) or its OriginatorConversationID, as asked; and one of its
    parties is our shortcode (M-Pesa shows only its own party's transactions)."""
    asked, receipt = operation.details, detail.get("receipt_no")
    problems = [
        *evidence.same_text_problems("ReceiptNo", receipt, asked.get("transaction_id")),
        *evidence.same_text_problems(
            "OriginatorConversationID",
            detail.get("originator_conversation_id"),
            asked.get("original_conversation_id"),
        ),
    ]
    if detail.get("transaction_status") == WENT_THROUGH:
        problems += evidence.receipt_problems(receipt)
    return problems + _ours_problems(detail, ours)


def _ours_problems(detail: Mapping[str, Any], ours: Set[str]) -> list[str]:
    names = [detail.get("debit_party_name"), detail.get("credit_party_name")]
    numbers = [n for n in map(evidence.number_in, names) if n is not None]
    if not numbers or not ours or any(evidence.same_number(n, o) for n in numbers for o in ours):
        return []
    return [f"neither party ({', '.join(numbers)}) is {' or '.join(sorted(ours))}"]


def _outcome(result: results.Result) -> Outcome:
    params = result.parameters
    detail = params.named(DETAIL)
    debit_names = params.all("DebitPartyName")
    if detail["credit_party_name"] is None and len(debit_names) == 2:
        # The current docs' copy of the sample names the credit party DebitPartyName a second
        # time (API.md §18.8): read by position only for this one known quirk.
        detail["credit_party_name"] = results.text(debit_names[1])
    occasion = results.text(result.references.get("Occasion"))
    return Outcome(
        status=results.status_for(result.code, STATUS_BY_RESULT_CODE),
        result_code=result.code,
        result_desc=result.desc,
        detail=detail | {"occasion": occasion},
    )
