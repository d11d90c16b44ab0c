"""Accepting an initiator-API request: fault or store it, schedule its Result, acknowledge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from daraja_emulator import credentials, fields
from daraja_emulator.auth import require_access_token
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import DarajaError, duplicate_originator_conversation_id
from daraja_emulator.products import clearing, result_codes, stk_faults
from daraja_emulator.products.results import (
    QUEUE_TIMEOUT,
    RESULT,
    Initiation,
    ResultProduct,
    ResultTransaction,
)
from daraja_emulator.runtime import Emulator, current_emulator
from daraja_emulator.scenarios import Outcome, Scenario
from daraja_emulator.transaction import ScheduledCallback


def product_blueprint(
    name: str,
    stats: dict[str, str],
    on_invalid_token: Callable[[str], DarajaError],
    first_field: Callable[[], str],
) -> Blueprint:
    """A product blueprint with the STK order of checks: count, Bearer token, Content-Type.

    `stats` maps endpoint names to counters; `first_field` names the field a wrong
    Content-Type is reported as (the first one the product's validator reads).
    """
    blueprint = Blueprint(name, __name__)

    @blueprint.before_request
    def count_request() -> None:
        stat = stats.get(request.endpoint or "")
        if stat is not None:
            current_emulator().state.count(stat)

    blueprint.before_request(require_access_token(on_invalid_token))

    @blueprint.before_request
    def require_json() -> None:
        fields.json_content_type(first_field())()

    return blueprint


def callback_urls(
    body: dict[str, Any], config: EmulatorConfig, *, result_first: bool = False
) -> tuple[str, str]:
    """(QueueTimeOutURL, ResultURL) under the STK CallBackURL rules (API.md §15.4), checked in
    the product's documented order."""
    words = config.reject_forbidden_callback_words
    names = ["QueueTimeOutURL", "ResultURL"]
    checked = {
        name: fields.callback_url(body.get(name), words, name)
        for name in (reversed(names) if result_first else names)
    }
    return checked["QueueTimeOutURL"], checked["ResultURL"]


def accept(
    emulator: Emulator,
    product: ResultProduct,
    initiation: Initiation,
    details: Any,
    *,
    party: str,
    originator_conversation_id: str | None = None,
) -> ResponseReturnValue:
    """Play `party`'s scenario: a refusing fault answers before anything is stored; otherwise
    the request is stored (a caller's OriginatorConversationID must be new), an `early`
    Result is POSTed, and the acknowledgement is sent (late or broken under a fault)."""
    scenario = emulator.scenario_for(party)
    if scenario.fault == "nonzero_response_code":
        ocid = originator_conversation_id or emulator.ids.request_id()
        return product.acknowledgement(ocid, "", accepted=False)
    if (refused := stk_faults.refusal(scenario.fault, emulator.ids.request_id)) is not None:
        return refused
    transaction = new_transaction(
        emulator, product, initiation, details, scenario, originator_conversation_id
    )
    unless = None if originator_conversation_id is None else _same_originator(transaction)
    scope = f"originator:{transaction.originator_conversation_id}"
    if not emulator.state.add(transaction, scope=scope, unless=unless):
        raise duplicate_originator_conversation_id()
    if transaction.callbacks[0].claimed:  # delivery: early
        emulator.sender.deliver(transaction, transaction.callbacks[0])
    ack = transaction.acknowledgement()
    return stk_faults.answer(scenario.fault, ack, scenario.answer_delay_seconds)


def new_transaction(
    emulator: Emulator,
    product: ResultProduct,
    initiation: Initiation,
    details: Any,
    scenario: Scenario,
    originator_conversation_id: str | None,
) -> ResultTransaction:
    """The request as accepted now, with the callbacks its scenario calls for (NOTES.md)."""
    now, config = emulator.clock(), emulator.config
    outcome, callbacks = _script(scenario, initiation, now, config)
    return ResultTransaction(
        product=product,
        conversation_id=emulator.ids.conversation_id(now),
        originator_conversation_id=originator_conversation_id or emulator.ids.request_id(),
        initiation=initiation,
        details=details,
        accepted_at=now,
        credential_valid=credentials.initiator_is_valid(
            config,
            initiation.organization,
            initiation.initiator,
            initiation.security_credential,
        ),
        outcome=outcome,
        receipt_tail=emulator.ids.receipt_tail(),
        callbacks=callbacks,
        catch_up=lambda until, t: clearing.catch_up(emulator, until, including=t),
        delivery=scenario.delivery,
    )


def result_outcome(outcome: Outcome) -> Outcome:
    """The scripted outcome as a Result: handset-only codes (1032, 1037, …) become success."""
    code = outcome.result_code
    if code in result_codes.HANDSET_ONLY:
        return Outcome(result_codes.SUCCESS, delay_seconds=outcome.delay_seconds)
    return Outcome(code, outcome.result_desc, outcome.delay_seconds)


def _script(
    scenario: Scenario, initiation: Initiation, now: float, config: EmulatorConfig
) -> tuple[Outcome | None, list[ScheduledCallback]]:
    """(scripted Result or None, callbacks): the Result, or a queue-timeout notice instead
    (followed by the `then` Result, if any). `delivery` shapes the first callback."""
    early = scenario.delivery == "early"
    dropped = scenario.delivery == "drop"
    first_at = now if early else now + _delay(scenario, config)
    first = ScheduledCallback(
        QUEUE_TIMEOUT if scenario.queue_timeout else RESULT,
        first_at,
        copies=2 if scenario.delivery == "duplicate" else 1,
        dropped=dropped,
        claimed=early,
        url=initiation.queue_timeout_url if scenario.queue_timeout else initiation.result_url,
    )
    if not scenario.queue_timeout:
        return result_outcome(scenario), [first]
    if scenario.then is None:
        return None, [first]
    then = result_outcome(scenario.then)
    due = first_at + _delay(then, config)
    result = ScheduledCallback(RESULT, due, dropped=dropped, url=initiation.result_url)
    return then, [first, result]


def _delay(outcome: Outcome, config: EmulatorConfig) -> float:
    if outcome.delay_seconds is not None:
        return outcome.delay_seconds
    return config.callback_delay_seconds


def _same_originator(transaction: ResultTransaction) -> Callable[[object], bool]:
    ocid = transaction.originator_conversation_id

    def matches(other: object) -> bool:
        return isinstance(other, ResultTransaction) and other.originator_conversation_id == ocid

    return matches
