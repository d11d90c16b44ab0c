"""How an accepted push plays out: its outcome (rules, then scenario) and the callbacks it owes."""

from __future__ import annotations

from daraja_emulator.config import EmulatorConfig, Merchant
from daraja_emulator.products import stk_codes
from daraja_emulator.products.stk_callback import CallbackStyle
from daraja_emulator.products.stk_push import StkPush, StkPushRequest
from daraja_emulator.runtime import Emulator
from daraja_emulator.scenarios import Outcome, Scenario
from daraja_emulator.transaction import FIRST, FOLLOW_UP, ScheduledCallback

PAYBILL = "CustomerPayBillOnline"
BUY_GOODS = "CustomerBuyGoodsOnline"
MAX_ACCOUNT_REFERENCE = 12
MAX_TRANSACTION_DESC = 13


def scripted_outcome(
    request: StkPushRequest, merchant: Merchant, scenario: Scenario, config: EmulatorConfig
) -> tuple[Outcome, float, Outcome | None]:
    """(outcome, seconds until decided, follow-up outcome or None) for an accepted push.

    Prompt text too long -> 1025; type/PartyB not matching the shortcode -> 2028 (both replace
    the scenario's outcome and follow-up); otherwise the scenario for the PhoneNumber (1037
    waits no_answer_timeout_seconds).
    """
    if len(request.account_reference) > MAX_ACCOUNT_REFERENCE or (
        len(request.transaction_desc or "") > MAX_TRANSACTION_DESC
    ):
        return Outcome(stk_codes.PROMPT_TOO_LONG), config.callback_delay_seconds, None
    if not _matches_product(request, merchant):
        return Outcome(stk_codes.PRODUCT_MISMATCH), config.callback_delay_seconds, None
    return scenario, _delay(scenario, config), scenario.then


def new_push(
    emulator: Emulator, request: StkPushRequest, merchant: Merchant, scenario: Scenario
) -> StkPush:
    """The push as accepted now, with the callbacks its scenario's `delivery` calls for.

    `early`: decided at once and its first callback pre-claimed, for the request handler to
    POST before answering; `duplicate`: the first callback twice; `drop`: none POSTed.
    """
    now = emulator.clock()
    outcome, delay, follow_up = scripted_outcome(request, merchant, scenario, emulator.config)
    early = scenario.delivery == "early"
    dropped = scenario.delivery == "drop"
    decide_at = now if early else now + delay
    callbacks = [
        ScheduledCallback(
            FIRST,
            decide_at,
            copies=2 if scenario.delivery == "duplicate" else 1,
            dropped=dropped,
            claimed=early,
        )
    ]
    if follow_up is not None:
        follow_up_at = decide_at + _delay(follow_up, emulator.config)
        callbacks.append(ScheduledCallback(FOLLOW_UP, follow_up_at, dropped=dropped))
    return StkPush(
        checkout_request_id=emulator.ids.checkout_request_id(now, request.phone_number),
        merchant_request_id=emulator.ids.request_id(),
        request=request,
        accepted_at=now,
        outcome=outcome,
        receipt_tail=emulator.ids.receipt_tail(),
        callbacks=callbacks,
        follow_up=follow_up,
        style=CallbackStyle.of(scenario, emulator.config.include_balance_item),
        delivery=scenario.delivery,
    )


def _delay(outcome: Outcome, config: EmulatorConfig) -> float:
    if outcome.delay_seconds is not None:
        return outcome.delay_seconds
    if outcome.result_code == stk_codes.NO_ANSWER:
        return config.no_answer_timeout_seconds
    return config.callback_delay_seconds


def _matches_product(request: StkPushRequest, merchant: Merchant) -> bool:
    if merchant.kind == "till":
        return request.transaction_type == BUY_GOODS and request.party_b in merchant.till_numbers
    return request.transaction_type == PAYBILL and request.party_b == merchant.shortcode
