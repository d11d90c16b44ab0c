"""The emulator's own control API under /_emulator/ (not Daraja's; no auth): inspect and drive."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from daraja_emulator import config_readers as read
from daraja_emulator.errors import DarajaError
from daraja_emulator.products.stk_push import StkPush
from daraja_emulator.runtime import Emulator, current_emulator
from daraja_emulator.scenarios import Scenario, parse_scenario

blueprint = Blueprint("control", __name__, url_prefix="/_emulator")

STAT_NAMES = ("oauth_tokens_issued", "stk_push_requests", "stk_query_requests")


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


@blueprint.get("/stats")
def stats() -> dict[str, int]:
    """Tokens issued and requests received per product endpoint since start or reset."""
    counts = current_emulator().state.counts()
    return {name: counts.get(name, 0) for name in STAT_NAMES}


@blueprint.get("/scenarios/<msisdn>")
def show_scenario(msisdn: str) -> dict[str, Any]:
    return _scenario_view(current_emulator(), _msisdn(msisdn))


@blueprint.put("/scenarios/<msisdn>")
def put_scenario(msisdn: str) -> dict[str, Any]:
    """Script this MSISDN's outcome until DELETE or reset; the body is a YAML-shaped scenario."""
    emulator, number = current_emulator(), _msisdn(msisdn)
    emulator.state.set_scenario(number, _scenario_from_body())
    return _scenario_view(emulator, number)


@blueprint.delete("/scenarios/<msisdn>")
def delete_scenario(msisdn: str) -> dict[str, Any]:
    emulator, number = current_emulator(), _msisdn(msisdn)
    emulator.state.set_scenario(number, None)
    return _scenario_view(emulator, number)


@blueprint.post("/reset")
def reset() -> dict[str, str]:
    """Forget tokens, pushes, callbacks, statistics and scenario overrides."""
    current_emulator().state.reset()
    return {"status": "ok"}


def _require_push(emulator: Emulator, checkout_request_id: str) -> StkPush:
    push = emulator.state.get(checkout_request_id)
    if not isinstance(push, StkPush):
        raise _unknown_push(checkout_request_id)
    return push


def _msisdn(text: str) -> str:
    try:
        return read.msisdn(text, "msisdn")
    except read.EmulatorConfigError as exc:
        raise _bad_request(str(exc)) from None


def _scenario_from_body() -> Scenario:
    """The request body validated exactly like a YAML scenario; 400 naming the bad key."""
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise _bad_request("scenario: the body must be a JSON object") from None
    try:
        return parse_scenario(body, "scenario")
    except read.EmulatorConfigError as exc:
        raise _bad_request(str(exc)) from None


def _bad_request(problem: str) -> DarajaError:
    return DarajaError(400, "emulator.bad_request", problem)


def _scenario_view(emulator: Emulator, msisdn: str) -> dict[str, Any]:
    """The scenario in effect for `msisdn` and where it comes from."""
    if (override := emulator.state.scenario_override(msisdn)) is not None:
        source, scenario = "override", override
    elif msisdn in emulator.config.scenarios:
        source, scenario = "configured", emulator.config.scenarios[msisdn]
    else:
        source, scenario = "default", emulator.config.default_scenario
    return {"msisdn": msisdn, "source": source, "scenario": scenario.to_json()}


def _unknown_push(checkout_request_id: str) -> DarajaError:
    message = f"No STK push with CheckoutRequestID {checkout_request_id}"
    return DarajaError(404, "emulator.not_found", message)
