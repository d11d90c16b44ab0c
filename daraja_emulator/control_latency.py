"""The answer latency at run time: GET, PUT, DELETE /_emulator/latency (validated like the YAML)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, request

from daraja_emulator import config_readers as read
from daraja_emulator.errors import DarajaError
from daraja_emulator.latency import KEYS, AnswerLatency, parse_latency
from daraja_emulator.runtime import Emulator, current_emulator

blueprint = Blueprint("control_latency", __name__, url_prefix="/_emulator")

ROOT = "latency"


@blueprint.get("/latency")
def show_latency() -> dict[str, Any]:
    return _view(current_emulator())


@blueprint.put("/latency")
def put_latency() -> dict[str, Any]:
    """Answers wait this from now until DELETE or reset; absent keys mean 0 / false."""
    emulator = current_emulator()
    emulator.latency = _latency_from_body()
    return _view(emulator)


@blueprint.delete("/latency")
def delete_latency() -> dict[str, Any]:
    """Back to the configured latency (the YAML's, or the CLI's --latency)."""
    emulator = current_emulator()
    emulator.latency = emulator.config.answer_latency
    return _view(emulator)


def _latency_from_body() -> AnswerLatency:
    try:
        body = json.loads(request.get_data())
    except ValueError:
        raise _bad_request(f"{ROOT}: the body must be a JSON object") from None
    try:
        fields = read.mapping(body, ROOT)
        read.known_keys(fields, KEYS, ROOT)
        return parse_latency(fields, ROOT)
    except read.EmulatorConfigError as exc:
        raise _bad_request(str(exc)) from None


def _bad_request(problem: str) -> DarajaError:
    return DarajaError(400, "emulator.bad_request", problem)


def _view(emulator: Emulator) -> dict[str, Any]:
    """The latency in force, and the configured one DELETE and reset go back to."""
    return {**emulator.latency.to_json(), "configured": emulator.config.answer_latency.to_json()}
