"""The emulator's own control API under /_emulator/ (not Daraja's; no auth): inspect and drive."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from daraja_emulator.errors import DarajaError
from daraja_emulator.products.stk_push import StkPush
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")


@blueprint.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@blueprint.get("/stkpush/<checkout_request_id>")
def show_push(checkout_request_id: str) -> dict[str, Any]:
    emulator = current_emulator()
    _require_push(emulator, checkout_request_id)
    view = emulator.state.describe(checkout_request_id, emulator.clock())
    if view is None:  # reset in between
        raise _unknown_push(checkout_request_id)
    return view


@blueprint.post("/stkpush/<checkout_request_id>/settle")
def settle_push(checkout_request_id: str) -> dict[str, Any]:
    """Decide the push now and POST its callback unless that already happened; the record."""
    emulator = current_emulator()
    _require_push(emulator, checkout_request_id)
    emulator.state.decide_now(checkout_request_id, emulator.clock())
    record = emulator.sender.deliver_first(checkout_request_id)
    if record is None:
        raise DarajaError(504, "emulator.delivery_pending", "Another callback send is stuck")
    return record


@blueprint.post("/stkpush/<checkout_request_id>/redeliver")
def redeliver_push(checkout_request_id: str) -> dict[str, Any]:
    """POST the same callback body once more (a duplicate, as production sometimes sends)."""
    emulator = current_emulator()
    push = _require_push(emulator, checkout_request_id)
    if not push.is_decided(emulator.clock()):
        raise DarajaError(409, "emulator.not_decided", "The push has no outcome yet; settle it")
    return emulator.sender.send(push, kind="redelivery")


@blueprint.get("/callbacks")
def list_callbacks() -> Response:
    return jsonify(current_emulator().state.deliveries())


@blueprint.post("/reset")
def reset() -> dict[str, str]:
    current_emulator().state.reset()
    return {"status": "ok"}


def _require_push(emulator: Emulator, checkout_request_id: str) -> StkPush:
    push = emulator.state.get(checkout_request_id)
    if not isinstance(push, StkPush):
        raise _unknown_push(checkout_request_id)
    return push


def _unknown_push(checkout_request_id: str) -> DarajaError:
    message = f"No STK push with CheckoutRequestID {checkout_request_id}"
    return DarajaError(404, "emulator.not_found", message)
