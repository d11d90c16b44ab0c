"""Business to Customer: POST /mpesa/b2c/v3|v1/paymentrequest (API.md §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import invalid_access_token_401
from daraja_emulator.products import b2c_rules
from daraja_emulator.products.result_service import accept, callback_urls, product_blueprint
from daraja_emulator.products.results import Initiation, ResultProduct
from daraja_emulator.runtime import current_emulator

COMMANDS = ("SalaryPayment", "BusinessPayment", "PromotionPayment")
V3 = "b2c.payment_request_v3"
B2C = ResultProduct("b2c", b2c_rules.decide, conversation_id_first=True)

blueprint = product_blueprint(
    "b2c",
    {V3: "b2c_requests", "b2c.payment_request_v1": "b2c_requests"},
    invalid_access_token_401,
    # v3 bodies start with the caller's OriginatorConversationID, v1 bodies with InitiatorName
    lambda: "OriginatorConversationID" if request.endpoint == V3 else "InitiatorName",
)


@dataclass(frozen=True)
class B2CRequest:
    """The validated B2C fields besides the initiator's (numbers normalised to digit strings)."""

    version: str
    command_id: str
    amount: int
    party_a: str
    party_b: str
    remarks: str
    occasion: str | None


@blueprint.post("/mpesa/b2c/v3/paymentrequest")
def payment_request_v3() -> ResponseReturnValue:
    """The caller names the OriginatorConversationID; a reused one is refused synchronously."""
    emulator = current_emulator()
    body = fields.json_object(request.get_data())
    ocid = fields.required_text(body.get("OriginatorConversationID"), "OriginatorConversationID")
    initiation, details = parse_b2c(body, emulator.config, "v3")
    return accept(
        emulator, B2C, initiation, details, party=details.party_b, originator_conversation_id=ocid
    )


@blueprint.post("/mpesa/b2c/v1/paymentrequest")
def payment_request_v1() -> ResponseReturnValue:
    """Daraja generates the OriginatorConversationID (one sent anyway is ignored)."""
    emulator = current_emulator()
    body = fields.json_object(request.get_data())
    initiation, details = parse_b2c(body, emulator.config, "v1")
    return accept(emulator, B2C, initiation, details, party=details.party_b)


def parse_b2c(
    body: dict[str, Any], config: EmulatorConfig, version: str
) -> tuple[Initiation, B2CRequest]:
    """Field checks in the docs' order; the first bad field wins."""
    initiator = fields.required_text(body.get("InitiatorName"), "InitiatorName")
    credential = fields.string(body.get("SecurityCredential"), "SecurityCredential")
    command_id = fields.one_of(body.get("CommandID"), COMMANDS, "CommandID")
    amount = fields.whole_amount(body.get("Amount"), config.max_amount)
    party_a = fields.shortcode(body.get("PartyA"), "PartyA")
    party_b = fields.msisdn(body.get("PartyB"), "PartyB")
    remarks = fields.bounded_text(body.get("Remarks"), "Remarks", minimum=2)
    queue_url, result_url = callback_urls(body, config)
    occasion = fields.optional_bounded_text(
        fields.first_given(body, "Occassion", "Occasion"), "Occassion"
    )
    initiation = Initiation(initiator, credential, party_a, result_url, queue_url)
    details = B2CRequest(version, command_id, amount, party_a, party_b, remarks, occasion)
    return initiation, details
