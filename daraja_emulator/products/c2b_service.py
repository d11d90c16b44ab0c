"""C2B rules: register a shortcode's URLs (API.md §4.1) and accept a simulated payment (§4.4),
scheduling the validation request and confirmation it owes (§4.2)."""

from __future__ import annotations

import functools
from typing import Any

from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.config import EmulatorConfig
from daraja_emulator.errors import DarajaError, invalid_field
from daraja_emulator.ids import receipt_prefix
from daraja_emulator.products import clearing, parties, stk_faults
from daraja_emulator.products.c2b_payload import (
    BUY_GOODS,
    CANCELLED,
    COMPLETED,
    PAYBILL,
    Payer,
    Verdict,
)
from daraja_emulator.products.c2b_payment import (
    CONFIRMATION,
    VALIDATION,
    C2BPayment,
    C2BRegistration,
    C2BRequest,
)
from daraja_emulator.runtime import Emulator
from daraja_emulator.scenarios import Scenario
from daraja_emulator.transaction import ScheduledCallback

REGISTERED = {"v1": "success", "v2": "Success"}  # the two docs pages differ in case
ACCEPTED = "Accept the service request successfully."
NOT_ACCEPTED = "Request not accepted for processing"  # our wording, as for STK and results
ALREADY_REGISTERED = "Urls are already registered."
MAX_BILL_REF_NUMBER = 20  # "account number typed by customer, up to 20 chars" (§4.3)


def register_urls(emulator: Emulator, body: dict[str, Any], version: str) -> dict[str, str]:
    """Store the shortcode's URLs (replacing earlier ones unless c2b_register_once) and answer
    in the version's words, `OriginatorCoversationID` spelt as Daraja spells it."""
    registration = parse_registration(body, emulator, version)
    if not emulator.state.register_urls(registration, once=emulator.config.c2b_register_once):
        raise DarajaError(500, "500.003.1001", ALREADY_REGISTERED)
    return acknowledgement(registration.originator_conversation_id, REGISTERED[version])


def simulate(emulator: Emulator, body: dict[str, Any], version: str) -> ResponseReturnValue:
    """Accept a customer's payment to a shortcode and schedule what it owes; the payer's
    scenario may refuse it, break the answer (`fault`) or shape the confirmation (`delivery`)."""
    request = parse_simulation(body, emulator.config, version)
    scenario = emulator.scenario_for(request.msisdn)
    if scenario.fault == "nonzero_response_code":
        return acknowledgement(emulator.ids.request_id(), NOT_ACCEPTED, code="1")
    if (refused := stk_faults.refusal(scenario.fault, emulator.ids.request_id)) is not None:
        return refused
    payment = pay(emulator, request, scenario)
    ack = acknowledgement(payment.originator_conversation_id, ACCEPTED)
    return stk_faults.answer(scenario.fault, ack, scenario.answer_delay_seconds)


def pay(emulator: Emulator, request: C2BRequest, scenario: Scenario) -> C2BPayment:
    """Make and store the customer's payment; an `early` scenario runs its validation and
    confirmation before this returns. Simulate and a scanned Dynamic QR code (control_qr) pay
    through here."""
    payment = new_payment(emulator, request, scenario)
    emulator.state.add(payment)
    if scenario.delivery == "early":  # validation and confirmation before the answer
        emulator.sender.deliver_all(payment.key)
    return payment


def acknowledgement(originator: str, description: str, code: str = "0") -> dict[str, str]:
    """samples/c2b_registerurl_response_*, c2b_simulate_response_v2_daraja-docs.json."""
    return {
        "OriginatorCoversationID": originator,  # sic
        "ResponseCode": code,
        "ResponseDescription": description,
    }


def parse_registration(body: dict[str, Any], emulator: Emulator, version: str) -> C2BRegistration:
    """Field checks in the docs' order; the URLs follow the CallBackURL rules (§15.4)."""
    config, words = emulator.config, emulator.config.reject_forbidden_callback_words
    shortcode = known_shortcode(body.get("ShortCode"), config)
    response_type = fields.one_of(body.get("ResponseType"), (COMPLETED, CANCELLED), "ResponseType")
    confirmation = fields.callback_url(body.get("ConfirmationURL"), words, "ConfirmationURL")
    validation = fields.callback_url(body.get("ValidationURL"), words, "ValidationURL")
    return C2BRegistration(
        shortcode=shortcode,
        version=version,
        response_type=response_type,
        confirmation_url=confirmation,
        validation_url=validation,
        registered_at=emulator.clock(),
        originator_conversation_id=emulator.ids.request_id(),
    )


def parse_simulation(body: dict[str, Any], config: EmulatorConfig, version: str) -> C2BRequest:
    """Field checks in the docs' order; BillRefNumber may be null or empty (tills)."""
    return C2BRequest(
        version=version,
        shortcode=known_shortcode(body.get("ShortCode"), config),
        command_id=fields.one_of(body.get("CommandID"), (PAYBILL, BUY_GOODS), "CommandID"),
        amount=fields.whole_amount(body.get("Amount"), config.max_amount),
        msisdn=fields.msisdn(body.get("Msisdn"), "Msisdn"),
        bill_ref_number=fields.optional_bounded_text(
            body.get("BillRefNumber"), "BillRefNumber", MAX_BILL_REF_NUMBER
        ),
    )


def known_shortcode(value: Any, config: EmulatorConfig) -> str:
    """A shortcode with books: an STK merchant, a configured organisation or 600000-600999."""
    shortcode = fields.shortcode(value, "ShortCode")
    if config.organization(shortcode) is None:
        raise invalid_field("ShortCode")
    return shortcode


def new_payment(emulator: Emulator, request: C2BRequest, scenario: Scenario) -> C2BPayment:
    """The payment as made now, under the shortcode's current registration. TransID and
    TransTime are fixed now: the validation request already carries them. Unregistered
    shortcodes complete at once (§4.2 step 5)."""
    now = emulator.clock()
    registration = emulator.state.registration(request.shortcode)
    payment = C2BPayment(
        trans_id=receipt_prefix(now) + emulator.ids.receipt_tail(),
        originator_conversation_id=emulator.ids.request_id(),
        conversation_id=emulator.ids.conversation_id(now),
        request=request,
        payer=Payer(request.msisdn, parties.customer(request.msisdn).name),
        registration=registration,
        accepted_at=now,
        callbacks=_callbacks(registration, scenario, now, emulator.config),
        credit=functools.partial(clearing.credit_c2b_payment, emulator),
        delivery=scenario.delivery,
    )
    if registration is None:
        payment.decide(Verdict(True, "no_urls"), now)
    return payment


def _callbacks(
    registration: C2BRegistration | None, scenario: Scenario, now: float, config: EmulatorConfig
) -> list[ScheduledCallback]:
    """[validation request (unless c2b_external_validation is off), confirmation], both due
    together: the confirmation follows as soon as the verdict is in. `delivery` shapes only
    the confirmation."""
    if registration is None:
        return []
    early = scenario.delivery == "early"
    due = now if early else now + _delay(scenario, config)
    confirmation = ScheduledCallback(
        CONFIRMATION,
        due,
        copies=2 if scenario.delivery == "duplicate" else 1,
        dropped=scenario.delivery == "drop",
        url=registration.confirmation_url,
    )
    if not config.c2b_external_validation:
        return [confirmation]
    validation = ScheduledCallback(
        VALIDATION,
        due,
        url=registration.validation_url,
        timeout=config.c2b_validation_timeout_seconds,
    )
    return [validation, confirmation]


def _delay(scenario: Scenario, config: EmulatorConfig) -> float:
    if scenario.delay_seconds is not None:
        return scenario.delay_seconds
    return config.callback_delay_seconds
