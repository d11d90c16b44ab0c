"""Reversal: POST /mpesa/reversal/v1/request undoes an STK (or C2B) payment (API.md §9)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import invalid_access_token
from daraja_emulator.products import reversal_rules
from daraja_emulator.products.result_service import accept, callback_urls, product_blueprint
from daraja_emulator.products.results import Initiation, ResultProduct
from daraja_emulator.runtime import current_emulator

# Must be "11" and spelt "Reciever": the correct spelling alone is refused (API.md §0, §9).
RECEIVER_TYPE = ("11",)
REVERSAL = ResultProduct("reversal", reversal_rules.decide)

blueprint = product_blueprint(
    "reversal", {"reversal.reverse": "reversal_requests"}, invalid_access_token, lambda: "Initiator"
)


@dataclass(frozen=True)
class ReversalRequest:
    transaction_id: str
    amount: int
    receiver_party: str
    remarks: str
    occasion: str | None


@blueprint.post("/mpesa/reversal/v1/request")
def reverse() -> ResponseReturnValue:
    emulator = current_emulator()
    initiation, details = parse_reversal(fields.json_object(request.get_data()), emulator.config)
    return accept(emulator, REVERSAL, initiation, details, party=details.receiver_party)


def parse_reversal(
    body: dict[str, Any], config: EmulatorConfig
) -> tuple[Initiation, ReversalRequest]:
    """Field checks in the docs' order; the first bad field wins."""
    initiator = fields.required_text(body.get("Initiator"), "Initiator")
    credential = fields.string(body.get("SecurityCredential"), "SecurityCredential")
    fields.one_of(body.get("CommandID"), ("TransactionReversal",), "CommandID")
    receipt = fields.receipt(body.get("TransactionID"))
    amount = fields.whole_amount(body.get("Amount"), config.max_amount)
    receiver = fields.shortcode(body.get("ReceiverParty"), "ReceiverParty")
    fields.identifier_type(
        body.get("RecieverIdentifierType"), RECEIVER_TYPE, "RecieverIdentifierType"
    )
    queue_url, result_url = callback_urls(body, config, result_first=True)
    remarks = fields.bounded_text(body.get("Remarks"), "Remarks", minimum=2)
    occasion = fields.optional_bounded_text(body.get("Occasion"), "Occasion")
    initiation = Initiation(initiator, credential, receiver, result_url, queue_url)
    return initiation, ReversalRequest(receipt, amount, receiver, remarks, occasion)
