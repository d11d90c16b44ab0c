"""Business to Business: POST /mpesa/b2b/v1/paymentrequest (API.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import invalid_access_token, invalid_field
from daraja_emulator.products import b2b_rules
from daraja_emulator.products.result_service import accept, callback_urls, product_blueprint
from daraja_emulator.products.results import Initiation, ResultProduct
from daraja_emulator.runtime import current_emulator

PAY_BILL = "BusinessPayBill"
COMMANDS = (
    PAY_BILL,
    "BusinessBuyGoods",
    "DisburseFundsToBusiness",
    "BusinessToBusinessTransfer",
    "BusinessPayToBulk",
)
SHORTCODE_TYPE = ("4",)
MAX_ACCOUNT_REFERENCE = 13
B2B = ResultProduct("b2b", b2b_rules.decide)

blueprint = product_blueprint(
    "b2b", {"b2b.payment_request": "b2b_requests"}, invalid_access_token, lambda: "Initiator"
)


@dataclass(frozen=True)
class B2BRequest:
    command_id: str
    amount: int
    party_a: str
    party_b: str
    account_reference: str | None
    requester: str | None
    remarks: str
    occasion: str | None


@blueprint.post("/mpesa/b2b/v1/paymentrequest")
def payment_request() -> ResponseReturnValue:
    emulator = current_emulator()
    initiation, details = parse_b2b(fields.json_object(request.get_data()), emulator.config)
    return accept(emulator, B2B, initiation, details, party=details.party_b)


def parse_b2b(body: dict[str, Any], config: EmulatorConfig) -> tuple[Initiation, B2BRequest]:
    """Field checks in the docs' order. "Command ID" (the docs sample's misprint) and the
    correctly spelt ReceiverIdentifierType are accepted too (NOTES.md)."""
    initiator = fields.required_text(body.get("Initiator"), "Initiator")
    credential = fields.string(body.get("SecurityCredential"), "SecurityCredential")
    command = fields.one_of(
        fields.first_given(body, "CommandID", "Command ID"), COMMANDS, "CommandID"
    )
    fields.identifier_type(body.get("SenderIdentifierType"), SHORTCODE_TYPE, "SenderIdentifierType")
    fields.identifier_type(
        fields.first_given(body, "RecieverIdentifierType", "ReceiverIdentifierType"),
        SHORTCODE_TYPE,
        "RecieverIdentifierType",
    )
    amount = fields.whole_amount(body.get("Amount"), config.max_amount)
    party_a = fields.shortcode(body.get("PartyA"), "PartyA")
    party_b = fields.shortcode(body.get("PartyB"), "PartyB")
    reference = fields.optional_bounded_text(
        body.get("AccountReference"), "AccountReference", MAX_ACCOUNT_REFERENCE
    )
    if reference is None and command == PAY_BILL:
        raise invalid_field("AccountReference")
    requester = body.get("Requester")
    requester = None if requester in (None, "") else fields.msisdn(requester, "Requester")
    remarks = fields.bounded_text(body.get("Remarks"), "Remarks")
    queue_url, result_url = callback_urls(body, config)
    occasion = fields.optional_bounded_text(
        fields.first_given(body, "Occassion", "Occasion"), "Occassion"
    )
    initiation = Initiation(initiator, credential, party_a, result_url, queue_url)
    details = B2BRequest(command, amount, party_a, party_b, reference, requester, remarks, occasion)
    return initiation, details
