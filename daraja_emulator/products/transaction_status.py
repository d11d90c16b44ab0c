"""Transaction Status: POST /mpesa/transactionstatus/v1/query by receipt or OriginatorConversationID
(API.md §8), answered from the receipts the emulator issued."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.clock import eat_stamp
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import invalid_access_token_400, invalid_field
from daraja_emulator.ids import placeholder_receipt
from daraja_emulator.ledger import Books, Receipt
from daraja_emulator.products import result_codes
from daraja_emulator.products.result_json import Decision, Item
from daraja_emulator.products.result_service import accept, callback_urls, product_blueprint
from daraja_emulator.products.results import (
    Initiation,
    ResultProduct,
    ResultTransaction,
    failure,
    refusal,
)
from daraja_emulator.runtime import current_emulator
from daraja_emulator.scenarios import Outcome

if TYPE_CHECKING:
    from daraja_emulator.runtime import Emulator

IDENTIFIER_TYPES = ("1", "2", "4")
SUCCESS_DESC = "The service request is processed successfully."

blueprint = product_blueprint(
    "transaction_status",
    {"transaction_status.query": "transaction_status_requests"},
    invalid_access_token_400,
    lambda: "Initiator",
)


@dataclass(frozen=True)
class StatusRequest:
    transaction_id: str | None
    original_conversation_id: str | None
    party_a: str
    identifier_type: str
    remarks: str
    occasion: str | None


def decide(emulator: Emulator, transaction: ResultTransaction, at: float) -> Decision:
    """The receipt's story, or 2032 when PartyA has no such receipt (NOTES.md)."""
    request: StatusRequest = transaction.details
    reference: Item = ("Occasion", request.occasion)  # value-less when none was sent
    failed = refusal(transaction)
    found = None if failed is not None else find(emulator.books, request)
    if found is None:
        outcome = failed or Outcome(result_codes.RECEIPT_NOT_FOUND)
        return failure(outcome, at, reference=reference, alphabetical=True)
    return Decision(
        result_codes.SUCCESS,
        SUCCESS_DESC,
        placeholder_receipt(at),
        status_parameters(found),
        reference,
        alphabetical=True,  # the docs sample lists the Result's keys alphabetically
    )


def find(books: Books, request: StatusRequest) -> Receipt | None:
    """By TransactionID, else by OriginalConversationID; only receipts PartyA is a party to."""
    found = books.receipt(request.transaction_id) if request.transaction_id else None
    if found is None and request.original_conversation_id:
        found = books.receipt_for_originator(request.original_conversation_id)
    return found if found is not None and found.involves(request.party_a) else None


def status_parameters(receipt: Receipt) -> list[Item]:
    """The 13 parameters, every value a string, as in the current docs sample (with
    CreditPartyName where that sample repeats DebitPartyName)."""
    return [
        ("DebitPartyName", receipt.debit.public_name),
        ("CreditPartyName", receipt.credit.public_name),
        ("OriginatorConversationID", receipt.originator_conversation_id),
        ("InitiatedTime", eat_stamp(receipt.initiated_at)),
        ("DebitAccountType", receipt.debit_account_type),
        ("DebitPartyCharges", receipt.charges),
        ("TransactionReason", None),
        ("ReasonType", receipt.reason_type),
        ("TransactionStatus", "Reversed" if receipt.reversed_by else "Completed"),
        ("FinalisedTime", eat_stamp(receipt.finalised_at)),
        ("Amount", str(receipt.amount)),
        ("ConversationID", receipt.conversation_id),
        ("ReceiptNo", receipt.receipt),
    ]


STATUS = ResultProduct("transactionstatus", decide)


@blueprint.post("/mpesa/transactionstatus/v1/query")
def query() -> ResponseReturnValue:
    emulator = current_emulator()
    initiation, details = parse_status(fields.json_object(request.get_data()), emulator.config)
    return accept(emulator, STATUS, initiation, details, party=details.party_a)


def parse_status(body: dict[str, Any], config: EmulatorConfig) -> tuple[Initiation, StatusRequest]:
    """Field checks in the docs' order. TransactionID or OriginalConversationID (at least one);
    the docs sample's "Command ID"/"Transaction ID" spellings are accepted too."""
    initiator = fields.required_text(body.get("Initiator"), "Initiator")
    credential = fields.string(body.get("SecurityCredential"), "SecurityCredential")
    command = fields.first_given(body, "CommandID", "Command ID")
    fields.one_of(command, ("TransactionStatusQuery",), "CommandID")
    receipt = fields.first_given(body, "TransactionID", "Transaction ID")
    ocid = fields.optional_text(body.get("OriginalConversationID"), "OriginalConversationID")
    if receipt is None and ocid is None:
        raise invalid_field("TransactionID")
    receipt = None if receipt is None else fields.receipt(receipt)
    party_a = fields.party(body.get("PartyA"), "PartyA")
    identifier = fields.identifier_type(
        body.get("IdentifierType"), IDENTIFIER_TYPES, "IdentifierType"
    )
    queue_url, result_url = callback_urls(body, config, result_first=True)
    remarks = fields.bounded_text(body.get("Remarks"), "Remarks")
    occasion = fields.optional_bounded_text(body.get("Occasion"), "Occasion")
    initiation = Initiation(initiator, credential, party_a, result_url, queue_url)
    details = StatusRequest(receipt, ocid, party_a, identifier, remarks, occasion)
    return initiation, details
