"""Business to Customer (B2C): pay a customer's M-Pesa from a B2C shortcode (API.md §5)."""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import UTC, datetime
from typing import Any

from apg.payments.lifecycle import PaymentStatus
from apg.payments.ports import Operation, Outcome, ProcessorEvent, Ref
from apg.processors.mpesa import mapping
from apg.processors.mpesa.products import evidence, results
from apg.processors.mpesa.products.base import ORIGINATOR, AsyncRequest

TRANSACTION_TYPE = "b2c_payment"
KIND = "b2c"
V3_PATH = "/mpesa/b2c/v3/paymentrequest"
V1_PATH = "/mpesa/b2c/v1/paymentrequest"
COMMAND_IDS = frozenset({"SalaryPayment", "BusinessPayment", "PromotionPayment"})
STATUS_BY_RESULT_CODE = {"0": PaymentStatus.COMPLETED}  # 1, 2001, SFC_IC0003, …: failed
COMPLETED_FORMAT = "%d.%m.%Y %H:%M:%S"  # B2C alone writes dd.MM.yyyy HH:mm:ss (EAT)

DETAIL = {
    "receiver_public_name": (("ReceiverPartyPublicName",), results.text),
    "recipient_is_registered": (("B2CRecipientIsRegisteredCustomer",), results.yes_no),
    "utility_account_available_funds": (
        ("B2CUtilityAccountAvailableFunds",),
        results.signed_cents,
    ),
    "working_account_available_funds": (
        ("B2CWorkingAccountAvailableFunds",),
        results.signed_cents,
    ),
    "charges_paid_account_available_funds": (
        ("B2CChargesPaidAccountAvailableFunds",),
        results.signed_cents,
    ),
}

accepted_refs = results.accepted_refs


def version(request: AsyncRequest) -> str:
    """v3 unless the account is set to v1 (the endpoint most SDKs still call)."""
    return "v1" if request.options.get("b2c_version") == "v1" else "v3"


def path(request: AsyncRequest) -> str:
    return V1_PATH if version(request) == "v1" else V3_PATH


def payload(request: AsyncRequest) -> dict[str, Any]:
    """The paymentrequest body. v3 sends our transaction id as OriginatorConversationID, so a
    retried request is refused by Daraja as a duplicate and can never pay twice."""
    operation = request.operation
    if not operation.phone_number:
        raise ValueError("phone_number is required")
    body = {
        "InitiatorName": request.initiator_name,
        "SecurityCredential": request.security_credential,
        "CommandID": results.command_id(request, COMMAND_IDS),
        "Amount": results.whole_shillings(operation.amount),
        "PartyA": request.shortcode,
        "PartyB": operation.phone_number,
        "Remarks": results.remarks(request, "B2C payment"),
        "QueueTimeOutURL": request.timeout_url,
        "ResultURL": request.result_url,
    }
    # The v3 docs spell it "Occassion"; v1's docs and the SDKs that call v1 send "Occasion"
    # (API.md §0, §18.4). Each version gets the spelling documented beside it.
    if version(request) == "v1":
        return results.optional(body, "Occasion", results.occasion(request))
    body = {"OriginatorConversationID": operation.id, **body}
    return results.optional(body, "Occassion", results.occasion(request))


def submitted_refs(request: AsyncRequest) -> tuple[Ref, ...]:
    """v3: our OriginatorConversationID (the transaction id), known before sending."""
    return () if version(request) == "v1" else (Ref(ORIGINATOR, request.operation.id),)


def parse_result(raw: bytes) -> ProcessorEvent:
    """A B2C Result -> event; success carries receipt, amount and completion time."""
    return results.parse_event(raw, _outcome)


def mismatches(operation: Operation, detail: Mapping[str, Any], ours: Set[str]) -> list[str]:
    """The payee (a Result's ReceiverPartyPublicName, a Transaction Status' CreditPartyName)
    is the phone paid; a Transaction Status' payer (DebitPartyName) is our shortcode."""
    payee = detail.get("receiver_public_name") or detail.get("credit_party_name")
    return [
        *evidence.party_problems("the payee", payee, operation.phone_number),
        *evidence.party_problems("the payer", detail.get("debit_party_name"), *ours),
    ]


def completed_at(value: Any) -> datetime | None:
    """TransactionCompletedDateTime `06.07.2024 22:48:52` (EAT) -> aware UTC; None if odd."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.strptime(value.strip(), COMPLETED_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=mapping.EAT).astimezone(UTC)


def _outcome(result: results.Result) -> Outcome:
    status = results.status_for(result.code, STATUS_BY_RESULT_CODE)
    params = result.parameters
    amount, problem = mapping.minor_units(params.get("TransactionAmount"), "TransactionAmount")
    receipt = params.get("TransactionReceipt") or result.transaction_id
    problems = [problem] if problem else []
    if status is not PaymentStatus.COMPLETED:
        receipt = None  # a failed result may carry a TransactionID too (API.md §5): no receipt
    elif result.transaction_id and receipt != result.transaction_id:
        problems.append(f"TransactionReceipt {str(receipt)[:20]!r} is not the TransactionID")
    return Outcome(
        status=status,
        result_code=result.code,
        result_desc=result.desc,
        receipt=mapping.id_text(receipt, "TransactionReceipt", required=False),
        amount=amount,
        transaction_date=completed_at(params.get("TransactionCompletedDateTime")),
        settles=True,
        problems=tuple(problems),
        detail=params.named(DETAIL),
    )
