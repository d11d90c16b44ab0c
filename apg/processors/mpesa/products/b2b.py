"""Business to Business (B2B): pay a paybill or till from our shortcode (API.md §6)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import Operation, Outcome, ProcessorEvent, Ref
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products import balance, evidence, results
from apg.processors.mpesa.products.base import AsyncRequest

TRANSACTION_TYPE = "b2b_payment"
KIND = "b2b"
PATH = "/mpesa/b2b/v1/paymentrequest"
COMMAND_IDS = frozenset(
    {
        "BusinessPayBill",
        "BusinessBuyGoods",
        "DisburseFundsToBusiness",
        "BusinessToBusinessTransfer",
    }
)
PAYBILL = "BusinessPayBill"  # the one command that needs an AccountReference
MAX_ACCOUNT_REFERENCE = 13
STATUS_BY_RESULT_CODE = {"0": PaymentStatus.COMPLETED}
# `{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}}`: BasicAmount is in
# shillings, MinimumAmount in cents; the field order differs between eras.
BRACED_FIELD = re.compile(r"(\w+)=([^,{}]*)")

accepted_refs = results.accepted_refs


def path(request: AsyncRequest) -> str:
    return PATH


def payload(request: AsyncRequest) -> dict[str, Any]:
    """The paymentrequest body; PartyB is the receiving shortcode, both identified as "4"."""
    command = results.command_id(request, COMMAND_IDS)
    body = {
        "Initiator": request.initiator_name,
        "SecurityCredential": request.security_credential,
        "CommandID": command,
        "SenderIdentifierType": results.SHORTCODE,
        "RecieverIdentifierType": results.SHORTCODE,  # Safaricom's spelling (API.md §0)
        "Amount": results.whole_shillings(request.operation.amount),
        "PartyA": request.shortcode,
        "PartyB": results.required(request, "receiver_shortcode"),
        "Remarks": results.remarks(request, "B2B payment"),
        "QueueTimeOutURL": request.timeout_url,
        "ResultURL": request.result_url,
    }
    body = results.optional(body, "AccountReference", _account_reference(request, command))
    body = results.optional(body, "Requester", request.details.get("requester"))
    return results.optional(body, "Occassion", results.occasion(request))  # the B2B docs' spelling


def submitted_refs(request: AsyncRequest) -> tuple[Ref, ...]:
    return ()


def parse_result(raw: bytes) -> ProcessorEvent:
    """A B2B Result -> event; success carries TransactionID, Amount and TransCompletedTime."""
    return results.parse_event(raw, _outcome)


def mismatches(operation: Operation, detail: Mapping[str, Any], ours: Set[str]) -> list[str]:
    """The payee (a Result's ReceiverPartyPublicName, a Transaction Status' CreditPartyName)
    is the shortcode paid, with the BillReferenceNumber given; a Transaction Status' payer
    (DebitPartyName) is our shortcode."""
    asked = operation.details
    payee = detail.get("receiver_public_name") or detail.get("credit_party_name")
    return [
        *evidence.party_problems("the payee", payee, asked.get("receiver_shortcode")),
        *evidence.party_problems("the payer", detail.get("debit_party_name"), *ours),
        *evidence.same_text_problems(
            "BillReferenceNumber",
            detail.get("bill_reference_number"),
            asked.get("account_reference"),
        ),
    ]


def basic_amount(value: Any) -> int | None:
    """`{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}}` -> 618683."""
    fields = dict(BRACED_FIELD.findall(value)) if isinstance(value, str) else {}
    cents = results.signed_cents(fields.get("BasicAmount"))
    minimum = fields.get("MinimumAmount", "").strip()
    if cents is None and minimum.isdigit() and len(minimum) <= mapping.MAX_NUMBER_DIGITS:
        cents = int(minimum)
    return cents


DETAIL = {
    "receiver_public_name": (("ReceiverPartyPublicName",), results.text),
    "currency": (("Currency",), results.text),
    "debit_account_balance": (("DebitAccountBalance", "DebitAccountCurrentBalance"), basic_amount),
    "initiator_account_balance": (("InitiatorAccountCurrentBalance",), basic_amount),
    "debit_party_affected_account": (("DebitPartyAffectedAccountBalance",), balance.account),
    "debit_party_charges": (("DebitPartyCharges",), results.charge_cents),
}


def _account_reference(request: AsyncRequest, command: str) -> str | None:
    if command != PAYBILL:
        return results.text(request.details.get("account_reference"))
    reference = results.required(request, "account_reference")
    if len(reference) > MAX_ACCOUNT_REFERENCE:
        raise ValueError(f"account_reference must be at most {MAX_ACCOUNT_REFERENCE} characters")
    return reference


def _outcome(result: results.Result) -> Outcome:
    status = results.status_for(result.code, STATUS_BY_RESULT_CODE)
    params = result.parameters
    amount, problem = mapping.minor_units(params.get("Amount"), "Amount")
    completed = status is PaymentStatus.COMPLETED
    bill_reference = results.text(result.references.get("BillReferenceNumber"))
    return Outcome(
        status=status,
        result_code=result.code,
        result_desc=result.desc,
        receipt=result.transaction_id if completed else None,  # failures carry a placeholder
        amount=amount,
        transaction_date=mapping.parse_daraja_datetime(params.get("TransCompletedTime")),
        settles=True,
        problems=(problem,) if problem else (),
        detail=params.named(DETAIL) | {"bill_reference_number": bill_reference},
    )
