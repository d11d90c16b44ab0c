"""Reversal: give back a C2B or STK payment received on our shortcode (API.md §9)."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import Operation, Outcome, ProcessorEvent, Ref
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products import balance, evidence, results
from apg.processors.mpesa.products.base import AsyncRequest

TRANSACTION_TYPE = "reversal"
KIND = "reversal"
PATH = "/mpesa/reversal/v1/request"
# Daraja accepts only "11" here, and only under its misspelt key (API.md §0, §9).
RECEIVER_IDENTIFIER_TYPE = "11"
ALREADY_REVERSED = "R000001"  # failed, but the money is back: a caller may treat it apart
INVALID_ORIGINAL = "R000002"  # the OriginalTransactionID is invalid
STATUS_BY_RESULT_CODE = {
    "0": PaymentStatus.COMPLETED,
    ALREADY_REVERSED: PaymentStatus.FAILED,
    INVALID_ORIGINAL: PaymentStatus.FAILED,
}

DETAIL = {
    "original_transaction_id": (("OriginalTransactionID",), results.text),
    "charge": (("Charge",), results.signed_cents),
    "debit_party_public_name": (("DebitPartyPublicName",), results.text),
    "credit_party_public_name": (("CreditPartyPublicName",), results.text),
    "debit_account_balance": (("DebitAccountBalance",), balance.account),
}

accepted_refs = results.accepted_refs


def path(request: AsyncRequest) -> str:
    return PATH


def payload(request: AsyncRequest) -> dict[str, Any]:
    """The request body: reverse the receipt details["transaction_id"] by the operation's
    amount, back out of our shortcode (ReceiverParty)."""
    body = {
        "Initiator": request.initiator_name,
        "SecurityCredential": request.security_credential,
        "CommandID": "TransactionReversal",
        "TransactionID": results.required(request, "transaction_id"),
        "Amount": results.whole_shillings(request.operation.amount),
        "ReceiverParty": request.shortcode,
        "RecieverIdentifierType": RECEIVER_IDENTIFIER_TYPE,
        "ResultURL": request.result_url,
        "QueueTimeOutURL": request.timeout_url,
        "Remarks": results.remarks(request, "Payment reversal"),
    }
    return results.optional(body, "Occasion", results.occasion(request))


def submitted_refs(request: AsyncRequest) -> tuple[Ref, ...]:
    return ()


def parse_result(raw: bytes) -> ProcessorEvent:
    """A reversal Result -> event; success carries the reversal's TransactionID and Amount
    (the 2017 docs sent no parameters at all: that success then lacks its evidence)."""
    return results.parse_event(raw, _outcome)


def mismatches(operation: Operation, detail: Mapping[str, Any], ours: Set[str]) -> list[str]:
    """A success reverses the receipt asked (OriginalTransactionID) out of our shortcode (the
    payer: DebitPartyPublicName, or a Transaction Status' DebitPartyName). The customer paid
    back (CreditPartyPublicName) is the reversed payment's: not part of this operation."""
    payer = detail.get("debit_party_public_name") or detail.get("debit_party_name")
    return [
        *evidence.same_text_problems(
            "OriginalTransactionID",
            detail.get("original_transaction_id"),
            operation.details.get("transaction_id"),
        ),
        *evidence.party_problems("the payer", payer, *ours),
    ]


def _outcome(result: results.Result) -> Outcome:
    status = results.status_for(result.code, STATUS_BY_RESULT_CODE)
    params = result.parameters
    amount, problem = mapping.minor_units(params.get("Amount"), "Amount")
    completed = status is PaymentStatus.COMPLETED
    return Outcome(
        status=status,
        result_code=result.code,
        result_desc=result.desc,
        receipt=result.transaction_id if completed else None,  # failures carry a placeholder
        amount=amount,
        transaction_date=mapping.parse_daraja_datetime(params.get("TransCompletedTime")),
        settles=True,
        problems=(problem,) if problem else (),
        detail=params.named(DETAIL),
    )
