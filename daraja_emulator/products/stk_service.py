"""M-Pesa Express rules: validate, fault or accept a push (API.md §2), answer STK Query (§3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.auth import authenticate_merchant
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import invalid_field, merchant_validation
from daraja_emulator.products import stk_faults
from daraja_emulator.products.stk_push import StkPush, StkPushRequest
from daraja_emulator.products.stk_script import BUY_GOODS, PAYBILL, new_push
from daraja_emulator.runtime import Emulator

ACCEPTED = "Success. Request accepted for processing"
SUBSCRIBER_LOCKED = (
    "Unable to lock subscriber, a transaction is already in process for the current subscriber"
)


def process_push(emulator: Emulator, body: dict[str, Any]) -> ResponseReturnValue:
    """Validate a processrequest body in Daraja's order, then play the payer's scenario:
    a refusing fault answers before anything is accepted; otherwise the push is stored (the
    subscriber lock permitting), an `early` callback is POSTed, and the answer is sent."""
    config = emulator.config
    request = parse_push_request(body, config)
    merchant = authenticate_merchant(
        config, request.business_short_code, body.get("Password"), request.timestamp
    )
    scenario = emulator.scenario_for(request.phone_number)
    if (refused := stk_faults.refusal(scenario.fault, emulator.ids.request_id)) is not None:
        return refused
    push = new_push(emulator, request, merchant, scenario)
    prompt_open = _prompt_open_for(request.phone_number, push.accepted_at)
    scope = f"stk-payer:{request.phone_number}"  # only this handset's pushes can lock it
    if not emulator.state.add(push, scope=scope, unless=prompt_open):
        raise merchant_validation(SUBSCRIBER_LOCKED)
    if scenario.delivery == "early":  # claimed in new_push: nobody else sends it
        emulator.sender.deliver(push, push.callbacks[0])
    return stk_faults.answer(scenario.fault, acknowledgement(push), scenario.answer_delay_seconds)


def acknowledgement(push: StkPush) -> dict[str, str]:
    """The documented processrequest success answer (`samples/stk_response_daraja-docs.json`)."""
    return {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": ACCEPTED,
        "CustomerMessage": ACCEPTED,
    }


def query_push(emulator: Emulator, body: dict[str, Any]) -> dict[str, str]:
    """The push's final result, or 500.001.1001 "being processed" until it is decided."""
    shortcode = fields.shortcode(body.get("BusinessShortCode"), "BusinessShortCode")
    timestamp = fields.timestamp(body.get("Timestamp"))
    checkout_request_id = body.get("CheckoutRequestID")
    if not isinstance(checkout_request_id, str) or not checkout_request_id:
        raise invalid_field("CheckoutRequestID")
    authenticate_merchant(emulator.config, shortcode, body.get("Password"), timestamp)
    push = emulator.state.get(checkout_request_id)
    if not isinstance(push, StkPush) or push.request.business_short_code != shortcode:
        raise invalid_field("CheckoutRequestID")
    now = emulator.clock()
    if not push.is_decided(now):
        raise merchant_validation(
            "The transaction is being processed", request_id=checkout_request_id
        )
    return push.query_answer(now)


def parse_push_request(body: dict[str, Any], config: EmulatorConfig) -> StkPushRequest:
    """Field checks in the order Daraja reports them: the first bad field wins."""
    return StkPushRequest(
        business_short_code=fields.shortcode(body.get("BusinessShortCode"), "BusinessShortCode"),
        timestamp=fields.timestamp(body.get("Timestamp")),
        transaction_type=fields.one_of(
            body.get("TransactionType"), (PAYBILL, BUY_GOODS), "TransactionType"
        ),
        amount=fields.whole_amount(body.get("Amount"), config.max_amount),
        party_a=fields.msisdn(body.get("PartyA"), "PartyA"),
        party_b=fields.shortcode(body.get("PartyB"), "PartyB"),
        phone_number=fields.msisdn(body.get("PhoneNumber"), "PhoneNumber"),
        callback_url=fields.callback_url(
            body.get("CallBackURL"), config.reject_forbidden_callback_words
        ),
        account_reference=fields.required_text(body.get("AccountReference"), "AccountReference"),
        transaction_desc=fields.optional_text(body.get("TransactionDesc"), "TransactionDesc"),
    )


def _prompt_open_for(phone_number: str, now: float) -> Callable[[object], bool]:
    """Daraja allows one open prompt per handset (API.md §16)."""

    def is_open(other: object) -> bool:
        return (
            isinstance(other, StkPush)
            and other.request.phone_number == phone_number
            and not other.is_decided(now)
        )

    return is_open
