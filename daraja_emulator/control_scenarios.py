"""Runtime scenario overrides under /_emulator/scenarios/<msisdn or shortcode>, validated like
the YAML."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request

from daraja_emulator import config_readers as read
from daraja_emulator.errors import DarajaError
from daraja_emulator.runtime import Emulator, current_emulator
from daraja_emulator.scenarios import Scenario, parse_scenario

blueprint = Blueprint("control_scenarios", __name__, url_prefix="/_emulator/scenarios")


@blueprint.get("/<msisdn>")
def show_scenario(msisdn: str) -> dict[str, Any]:
    return _scenario_view(current_emulator(), _msisdn(msisdn))


@blueprint.put("/<msisdn>")
def put_scenario(msisdn: str) -> dict[str, Any]:
    """Script this MSISDN's outcome until DELETE or reset; the body is a YAML-shaped scenario."""
    emulator, number = current_emulator(), _msisdn(msisdn)
    emulator.state.set_scenario(number, _scenario_from_body())
    return _scenario_view(emulator, number)


@blueprint.delete("/<msisdn>")
def delete_scenario(msisdn: str) -> dict[str, Any]:
    emulator, number = current_emulator(), _msisdn(msisdn)
    emulator.state.set_scenario(number, None)
    return _scenario_view(emulator, number)


def _msisdn(text: str) -> str:
    """An MSISDN (payer, B2C recipient) or a shortcode (B2B receiver, balance/status PartyA,
    reversal ReceiverParty)."""
    try:
        return read.party(text, "msisdn")
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
