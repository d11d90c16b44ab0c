"""Control API for initiator-API Results under /_emulator/results (B2C, B2B, balance, …)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from daraja_emulator.errors import DarajaError
from daraja_emulator.products.results import ResultTransaction
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control_results", __name__, url_prefix="/_emulator/results")


@blueprint.get("")
def list_results() -> Response:
    """Every accepted request since start or reset, oldest first; `?product=b2c` filters
    (b2c, b2b, accountbalance, transactionstatus, reversal)."""
    emulator = current_emulator()
    product, now = request.args.get("product"), emulator.clock()
    keys = [
        t.key
        for t in emulator.state.transactions()
        if isinstance(t, ResultTransaction) and product in (None, t.product.name)
    ]
    views = [emulator.state.describe(key, now) for key in keys]
    return jsonify([view for view in views if view is not None])


@blueprint.get("/<identifier>")
def show_result(identifier: str) -> dict[str, Any]:
    """By ConversationID or OriginatorConversationID."""
    emulator = current_emulator()
    return _view(emulator, _require_result(emulator, identifier).key, identifier)


@blueprint.post("/<identifier>/settle")
def settle_result(identifier: str) -> dict[str, Any]:
    """Make everything the request owes due now and deliver it in order (the queue-timeout
    notice, its duplicate, the Result). The first callback's record plus every delivery."""
    emulator = current_emulator()
    key = _require_result(emulator, identifier).key
    emulator.state.decide_now(key, emulator.clock())
    if not emulator.sender.deliver_all(key):
        _require_result(emulator, identifier)  # reset in between: 404
        raise DarajaError(504, "emulator.delivery_pending", "Another callback send is stuck")
    record = emulator.state.first_record(key)
    if record is None:  # reset in between
        raise _unknown(identifier)
    return {**record, "deliveries": _view(emulator, key, identifier)["deliveries"]}


@blueprint.post("/<identifier>/redeliver")
def redeliver_result(identifier: str) -> dict[str, Any]:
    """POST the latest due callback once more (Daraja has been seen to send duplicates)."""
    emulator = current_emulator()
    transaction = _require_result(emulator, identifier)
    due = [c for c in transaction.callbacks if c.due_at <= emulator.clock()]
    if not due:
        raise DarajaError(409, "emulator.not_decided", "Nothing is due yet; settle it")
    body = transaction.render_callback(due[-1])
    return emulator.sender.send(transaction, kind="redelivery", body=body, url=due[-1].url)


def _require_result(emulator: Emulator, identifier: str) -> ResultTransaction:
    found = emulator.state.get(identifier)
    if isinstance(found, ResultTransaction):
        return found
    for transaction in emulator.state.transactions():
        if (
            isinstance(transaction, ResultTransaction)
            and transaction.originator_conversation_id == identifier
        ):
            return transaction
    raise _unknown(identifier)


def _view(emulator: Emulator, key: str, identifier: str) -> dict[str, Any]:
    view = emulator.state.describe(key, emulator.clock())
    if view is None:  # reset in between
        raise _unknown(identifier)
    return view


def _unknown(identifier: str) -> DarajaError:
    message = f"No request with ConversationID or OriginatorConversationID {identifier}"
    return DarajaError(404, "emulator.not_found", message)
