"""Account Balance: POST /mpesa/accountbalance/v1/query, answered from the books (API.md §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.clock import eat_stamp
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import invalid_access_token_401
from daraja_emulator.ids import placeholder_receipt
from daraja_emulator.money import shillings
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

if TYPE_CHECKING:
    from daraja_emulator.runtime import Emulator

IDENTIFIER_TYPES = ("1", "2", "4")  # MSISDN, till, shortcode (API.md §7)
QUEUE_TIMEOUT_ITEM: Item = (
    "QueueTimeoutURL",
    "https://internalsandbox.safaricom.co.ke/mpesa/abresults/v1/submit",
)
SUCCESS_DESC = "The service request is processed successfully"  # sic: no period (docs sample)

blueprint = product_blueprint(
    "account_balance",
    {"account_balance.query": "account_balance_requests"},
    invalid_access_token_401,
    lambda: "Initiator",
)


@dataclass(frozen=True)
class BalanceRequest:
    party_a: str
    identifier_type: str
    remarks: str


def decide(emulator: Emulator, transaction: ResultTransaction, at: float) -> Decision:
    """Every account of PartyA as the books stand when the Result falls due."""
    failed = refusal(transaction)
    if failed is not None:
        return failure(failed, at, reference=QUEUE_TIMEOUT_ITEM)
    request: BalanceRequest = transaction.details
    parameters: list[Item] = [  # strings, as in the docs sample
        ("AccountBalance", account_balance(emulator.books.balances(request.party_a))),
        ("BOCompletedTime", eat_stamp(at)),
    ]
    return Decision(
        result_codes.SUCCESS,
        SUCCESS_DESC,
        placeholder_receipt(at),
        parameters,
        QUEUE_TIMEOUT_ITEM,
        as_strings=True,
    )


def account_balance(cents_by_account: dict[str, int]) -> str:
    """Working Account|KES|700000.00|700000.00|0.00|0.00&Float Account|KES|…: current, available,
    reserved, uncleared (API.md §7); nothing is ever reserved or uncleared here."""
    return "&".join(
        f"{name}|KES|{shillings(cents)}|{shillings(cents)}|0.00|0.00"
        for name, cents in cents_by_account.items()
    )


BALANCE = ResultProduct(
    "accountbalance", decide, ack_description="Accept the service request successfully"
)  # sic: the balance docs' acknowledgement has no period


@blueprint.post("/mpesa/accountbalance/v1/query")
def query() -> ResponseReturnValue:
    emulator = current_emulator()
    initiation, details = parse_balance(fields.json_object(request.get_data()), emulator.config)
    return accept(emulator, BALANCE, initiation, details, party=details.party_a)


def parse_balance(
    body: dict[str, Any], config: EmulatorConfig
) -> tuple[Initiation, BalanceRequest]:
    """Field checks in the docs' order; the first bad field wins."""
    initiator = fields.required_text(body.get("Initiator"), "Initiator")
    credential = fields.string(body.get("SecurityCredential"), "SecurityCredential")
    fields.one_of(
        fields.first_given(body, "CommandID", "Command ID"), ("AccountBalance",), "CommandID"
    )
    party_a = fields.party(body.get("PartyA"), "PartyA")
    identifier = fields.identifier_type(
        body.get("IdentifierType"), IDENTIFIER_TYPES, "IdentifierType"
    )
    remarks = fields.bounded_text(body.get("Remarks"), "Remarks")
    queue_url, result_url = callback_urls(body, config)
    initiation = Initiation(initiator, credential, party_a, result_url, queue_url)
    return initiation, BalanceRequest(party_a, identifier, remarks)
