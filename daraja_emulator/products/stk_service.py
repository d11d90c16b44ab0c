"""M-Pesa Express rules: validate, accept and script a push (API.md §2), answer STK Query (§3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daraja_emulator import fields
from daraja_emulator.auth import authenticate_merchant
from daraja_emulator.config import EmulatorConfig, Merchant
from daraja_emulator.errors import invalid_field, merchant_validation
from daraja_emulator.products import stk_codes
from daraja_emulator.products.stk_push import StkPush, StkPushRequest
from daraja_emulator.runtime import Emulator
from daraja_emulator.scenarios import Scenario

PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"
ACCEPTED = "Success. Request accepted for processing"
SUBSCRIBER_LOCKED = (
    "Unable to lock subscriber, a transaction is already in process for the current subscriber"
)
MAX_ACCOUNT_REFERENCE = 12
MAX_TRANSACTION_DESC = 13


def accept_push(emulator: Emulator, body: dict[str, Any]) -> dict[str, str]:
    """Validate a processrequest body in Daraja's order, store the push, acknowledge it."""
    config = emulator.config
    request = parse_push_request(body, config)
    merchant = authenticate_merchant(
        config, request.business_short_code, body.get("Password"), request.timestamp
    )
    push = _new_push(emulator, request, merchant)
    prompt_open = _prompt_open_for(request.phone_number, push.accepted_at)
    if not emulator.state.add(push, unless=prompt_open):
        raise merchant_validation(SUBSCRIBER_LOCKED)
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
    if not push.is_decided(emulator.clock()):
        raise merchant_validation(
            "The transaction is being processed", request_id=checkout_request_id
        )
    return push.query_answer()


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


def scripted_outcome(
    request: StkPushRequest, merchant: Merchant, scenario: Scenario, config: EmulatorConfig
) -> tuple[int | str, str, float]:
    """(ResultCode, ResultDesc, seconds until decided) for an accepted push.

    Prompt text too long -> 1025; type/PartyB not matching the shortcode -> 2028; otherwise
    the scenario scripted for the PhoneNumber (1037 waits no_answer_timeout_seconds).
    """
    if len(request.account_reference) > MAX_ACCOUNT_REFERENCE or (
        len(request.transaction_desc or "") > MAX_TRANSACTION_DESC
    ):
        return _standard(stk_codes.PROMPT_TOO_LONG, config)
    if not _matches_product(request, merchant):
        return _standard(stk_codes.PRODUCT_MISMATCH, config)
    delay = scenario.delay_seconds
    if delay is None:
        no_answer = scenario.result_code == stk_codes.NO_ANSWER
        delay = config.no_answer_timeout_seconds if no_answer else config.callback_delay_seconds
    return scenario.result_code, scenario.result_desc or "", delay


def _standard(code: int, config: EmulatorConfig) -> tuple[int, str, float]:
    return code, stk_codes.RESULT_DESCRIPTIONS[code], config.callback_delay_seconds


def _matches_product(request: StkPushRequest, merchant: Merchant) -> bool:
    if merchant.kind == "till":
        return request.transaction_type == BUY_GOODS and request.party_b in merchant.till_numbers
    return request.transaction_type == PAYBILL and request.party_b == merchant.shortcode


def _new_push(emulator: Emulator, request: StkPushRequest, merchant: Merchant) -> StkPush:
    now = emulator.clock()
    scenario = emulator.scenario_for(request.phone_number)
    code, desc, delay = scripted_outcome(request, merchant, scenario, emulator.config)
    return StkPush(
        checkout_request_id=emulator.ids.checkout_request_id(now, request.phone_number),
        merchant_request_id=emulator.ids.request_id(),
        request=request,
        accepted_at=now,
        decide_at=now + delay,
        result_code=code,
        result_desc=desc,
        receipt_tail=emulator.ids.receipt_tail(),
        include_balance_item=emulator.config.include_balance_item,
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
