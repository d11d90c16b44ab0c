"""Control API for C2B under /_emulator/c2b (not Daraja's): registrations and simulated payments."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from daraja_emulator.errors import DarajaError
from daraja_emulator.products.c2b_payment import COMPLETED, CONFIRMATION, PENDING, C2BPayment
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control_c2b", __name__, url_prefix="/_emulator/c2b")


@blueprint.get("/registrations")
def list_registrations() -> Response:
    """Every shortcode's registered URLs, in the order shortcodes were first registered."""
    return jsonify([r.to_json() for r in current_emulator().state.registrations()])


@blueprint.get("/registrations/<shortcode>")
def show_registration(shortcode: str) -> dict[str, Any]:
    registration = current_emulator().state.registration(shortcode)
    if registration is None:
        raise DarajaError(404, "emulator.not_found", f"No C2B URLs registered for {shortcode}")
    return registration.to_json()


@blueprint.get("/payments")
def list_payments() -> Response:
    """Every simulated payment since start or reset, oldest first; `?shortcode=` filters."""
    emulator = current_emulator()
    shortcode, now = request.args.get("shortcode"), emulator.clock()
    keys = [
        t.key
        for t in emulator.state.transactions()
        if isinstance(t, C2BPayment) and shortcode in (None, t.request.shortcode)
    ]
    views = [emulator.state.describe(key, now) for key in keys]
    return jsonify([view for view in views if view is not None])


@blueprint.get("/payments/<identifier>")
def show_payment(identifier: str) -> dict[str, Any]:
    """By TransID or by the simulate answer's OriginatorCoversationID."""
    emulator = current_emulator()
    return _view(emulator, _require_payment(emulator, identifier).key, identifier)


@blueprint.post("/payments/<identifier>/settle")
@blueprint.post("/payments/<identifier>/deliver")
def settle_payment(identifier: str) -> dict[str, Any]:
    """Make the payment due now and run it: the validation request, the verdict (money moves
    if it completes), the confirmation (and its duplicate). The payment's view afterwards."""
    emulator = current_emulator()
    key = _require_payment(emulator, identifier).key
    emulator.state.decide_now(key, emulator.clock())
    if not emulator.sender.deliver_all(key):
        _require_payment(emulator, identifier)  # reset in between: 404
        raise DarajaError(504, "emulator.delivery_pending", "Another callback send is stuck")
    return _view(emulator, key, identifier)


@blueprint.post("/payments/<identifier>/redeliver")
def redeliver_payment(identifier: str) -> dict[str, Any]:
    """POST the confirmation of a completed payment once more (a duplicate, as production
    sometimes sends); its delivery record."""
    emulator = current_emulator()
    payment = _require_payment(emulator, identifier)
    confirmation = payment.callback(CONFIRMATION)
    if payment.state == PENDING:
        raise DarajaError(409, "emulator.not_decided", "The payment is not decided yet; settle it")
    if payment.state != COMPLETED or confirmation is None:
        message = f"The payment is {payment.state} and owes no confirmation"
        raise DarajaError(409, "emulator.no_confirmation", message)
    body = payment.render_callback(confirmation)
    assert body is not None  # completed
    return emulator.sender.send(payment, kind="redelivery", body=body, url=confirmation.url)


def _require_payment(emulator: Emulator, identifier: str) -> C2BPayment:
    found = emulator.state.get(identifier)
    if isinstance(found, C2BPayment):
        return found
    for transaction in emulator.state.transactions():
        if (
            isinstance(transaction, C2BPayment)
            and transaction.originator_conversation_id == identifier
        ):
            return transaction
    raise DarajaError(404, "emulator.not_found", f"No C2B payment with TransID or id {identifier}")


def _view(emulator: Emulator, key: str, identifier: str) -> dict[str, Any]:
    view = emulator.state.describe(key, emulator.clock())
    if view is None:  # reset in between
        raise DarajaError(404, "emulator.not_found", f"No C2B payment {identifier}")
    return view
