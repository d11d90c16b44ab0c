"""The emulator's own control API under /_emulator/ (not Daraja's; no auth): inspect and drive."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from daraja_emulator.errors import DarajaError
from daraja_emulator.products.stk_push import StkPush
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")

STAT_NAMES = (
    "oauth_tokens_issued",
    "stk_push_requests",
    "stk_query_requests",
    "b2c_requests",
    "b2b_requests",
    "account_balance_requests",
    "transaction_status_requests",
    "reversal_requests",
    "c2b_register_requests",
    "c2b_simulate_requests",
)


@blueprint.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@blueprint.get("/stkpush")
def list_pushes() -> Response:
    """Every push accepted since start or reset, oldest first; `?phone=2547…` filters by payer.

    Finds pushes whose answer the client never read (`html_504`, `truncated`, `slow`).
    """
    emulator = current_emulator()
    phone, now = request.args.get("phone"), emulator.clock()
    pushes = [t for t in emulator.state.transactions() if isinstance(t, StkPush)]
    keys = [p.key for p in pushes if phone is None or p.request.phone_number == phone]
    views = [emulator.state.describe(key, now) for key in keys]  # each under the state lock
    return jsonify([view for view in views if view is not None])


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
    """Decide the push now and deliver all it still owes, in order: first callback, its
    duplicate, the follow-up. The first callback's record, plus every delivery of the push."""
    emulator = current_emulator()
    _require_push(emulator, checkout_request_id)
    emulator.state.decide_now(checkout_request_id, emulator.clock())
    if not emulator.sender.deliver_all(checkout_request_id):
        _require_push(emulator, checkout_request_id)  # reset in between: 404
        raise DarajaError(504, "emulator.delivery_pending", "Another callback send is stuck")
    record = emulator.state.first_record(checkout_request_id)
    view = emulator.state.describe(checkout_request_id, emulator.clock())
    if record is None or view is None:  # reset in between
        raise _unknown_push(checkout_request_id)
    return {**record, "deliveries": view["deliveries"]}


@blueprint.post("/stkpush/<checkout_request_id>/redeliver")
def redeliver_push(checkout_request_id: str) -> dict[str, Any]:
    """POST the latest due callback once more (a duplicate, as production sometimes sends)."""
    emulator = current_emulator()
    push = _require_push(emulator, checkout_request_id)
    now = emulator.clock()
    if not push.is_decided(now):
        raise DarajaError(409, "emulator.not_decided", "The push has no outcome yet; settle it")
    body = push.render_callback(push.latest_callback(now))
    return emulator.sender.send(push, kind="redelivery", body=body)


@blueprint.get("/callbacks")
def list_callbacks() -> Response:
    return jsonify(current_emulator().state.deliveries())


@blueprint.get("/stats")
def stats() -> dict[str, int]:
    """Tokens issued and requests received per product endpoint since start or reset."""
    counts = current_emulator().state.counts()
    return {name: counts.get(name, 0) for name in STAT_NAMES}


@blueprint.post("/reset")
def reset() -> dict[str, str]:
    """Forget tokens, pushes, results, C2B URLs and payments, callbacks, statistics, scenario
    overrides and the books."""
    current_emulator().reset()
    return {"status": "ok"}


def _require_push(emulator: Emulator, checkout_request_id: str) -> StkPush:
    push = emulator.state.get(checkout_request_id)
    if not isinstance(push, StkPush):
        raise _unknown_push(checkout_request_id)
    return push


def _unknown_push(checkout_request_id: str) -> DarajaError:
    message = f"No STK push with CheckoutRequestID {checkout_request_id}"
    return DarajaError(404, "emulator.not_found", message)
