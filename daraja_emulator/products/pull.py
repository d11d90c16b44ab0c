"""Pull Transactions: POST /pulltransactions/v1/register and /pulltransactions/v1/query (API.md
§11), answered from the completed C2B payments the emulator holds, dropped confirmations
included: recovering those is what Pull is for (§4.2 step 6)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from daraja_emulator import fields
from daraja_emulator.auth import require_access_token
from daraja_emulator.errors import DarajaError, invalid_field
from daraja_emulator.products.c2b_payment import COMPLETED, C2BPayment
from daraja_emulator.products.pull_payload import (
    REQUEST_TYPE,
    PullRegistration,
    PullRow,
    parse_date,
    query_answer,
    register_answer,
    select,
)
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("pull", __name__)


def invalid_access_token(token: str = "") -> DarajaError:
    """Pull's own code for a missing, unknown or expired token (API.md §13)."""
    return DarajaError(401, "401.001", "Invalid Access Token")


def invalid_shortcode() -> DarajaError:
    """Pull's own code for a ShortCode it does not know (API.md §13)."""
    return DarajaError(400, "400.001", "Invalid ShortCode")


blueprint.before_request(require_access_token(invalid_access_token))


@blueprint.before_request
def require_json() -> None:
    """A wrong Content-Type reads as the first field being wrong, as on every product (§0)."""
    if request.mimetype != "application/json":
        raise invalid_shortcode()


@blueprint.post("/pulltransactions/v1/register")
def register() -> dict[str, str]:
    """Register a shortcode for Pull once: 1000 the first time, 1001 (the first registration
    kept) after."""
    emulator = current_emulator()
    registration = parse_registration(emulator, fields.json_object(request.get_data()))
    stored = emulator.state.register_pull(registration)
    return register_answer(registration.response_ref_id, registration.shortcode, already=not stored)


@blueprint.post("/pulltransactions/v1/query")
def query() -> dict[str, Any]:
    """One page of the shortcode's completed C2B payments in [StartDate, EndDate] (EAT) and
    the last 48 hours; 1001 when the page is empty."""
    emulator = current_emulator()
    body = fields.json_object(request.get_data())
    shortcode = known_shortcode(emulator, body.get("ShortCode"))
    start = _date(body.get("StartDate"), "StartDate")
    end = _date(body.get("EndDate"), "EndDate")
    offset = int(fields.digit_string(body.get("OffSetValue"), "OffSetValue"))
    rows = select(completed_payments(emulator, shortcode), start, end, offset, emulator.clock())
    return query_answer(emulator.ids.request_id(), rows)


def parse_registration(emulator: Emulator, body: dict[str, Any]) -> PullRegistration:
    """Fields in the docs' order; the CallBackURL follows the callback URL rules (§15.4)."""
    shortcode = known_shortcode(emulator, body.get("ShortCode"))
    fields.one_of(body.get("RequestType"), (REQUEST_TYPE,), "RequestType")
    nominated = fields.msisdn(body.get("NominatedNumber"), "NominatedNumber")
    words = emulator.config.reject_forbidden_callback_words
    return PullRegistration(
        shortcode=shortcode,
        nominated_number=nominated,
        callback_url=fields.callback_url(body.get("CallBackURL"), words),
        registered_at=emulator.clock(),
        response_ref_id=emulator.ids.request_id(),
    )


def known_shortcode(emulator: Emulator, value: Any) -> str:
    """A shortcode the emulator keeps books for (as for C2B), else 400.001."""
    try:
        shortcode = fields.shortcode(value, "ShortCode")
    except DarajaError:
        raise invalid_shortcode() from None
    if emulator.config.organization(shortcode) is None:
        raise invalid_shortcode()
    return shortcode


def completed_payments(emulator: Emulator, shortcode: str) -> list[PullRow]:
    """Every completed C2B payment to the shortcode, however its confirmation fared."""
    name = emulator.config.organization_name(shortcode)
    return [
        PullRow(
            trans_id=payment.trans_id,
            at=payment.accepted_at,  # its TransTime
            msisdn=payment.payer.msisdn,
            sender=payment.payer.name,
            command_id=payment.request.command_id,
            bill_ref_number=payment.request.bill_ref_number,
            amount=payment.request.amount,
            organization_name=name,
        )
        for payment in emulator.state.transactions()
        if isinstance(payment, C2BPayment)
        and payment.request.shortcode == shortcode
        and payment.state == COMPLETED
    ]


def _date(value: Any, name: str) -> float:
    moment = parse_date(value)
    if moment is None:
        raise invalid_field(name)
    return moment
