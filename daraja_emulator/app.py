"""create_app(): wires config, clock, randomness and HTTP session into the emulator's Flask app."""

from __future__ import annotations

import random
import time
from http import HTTPStatus

import requests
from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider

from daraja_emulator import (
    control,
    control_accounts,
    control_c2b,
    control_latency,
    control_qr,
    control_results,
    control_scenarios,
)
from daraja_emulator.clock import Clock
from daraja_emulator.config import EmulatorConfig, load_config
from daraja_emulator.errors import register_error_handlers
from daraja_emulator.latency import Sleep
from daraja_emulator.products import (
    account_balance,
    b2b,
    b2c,
    c2b,
    oauth,
    pull,
    qr,
    reversal,
    stk,
    transaction_status,
)
from daraja_emulator.runtime import EXTENSION, Emulator, current_emulator

PRODUCT_BLUEPRINTS = (
    oauth.blueprint,
    stk.blueprint,
    b2c.blueprint,
    b2b.blueprint,
    account_balance.blueprint,
    transaction_status.blueprint,
    reversal.blueprint,
    c2b.blueprint,
    pull.blueprint,
    qr.blueprint,
)
CONTROL_BLUEPRINTS = (
    control.blueprint,
    control_scenarios.blueprint,
    control_results.blueprint,
    control_accounts.blueprint,
    control_c2b.blueprint,
    control_latency.blueprint,
    control_qr.blueprint,
)
# Answers of these blueprints wait the answer latency (OAuth only if answer_latency_oauth).
PRODUCT_NAMES = frozenset(blueprint.name for blueprint in PRODUCT_BLUEPRINTS)


class _DarajaOrderJSON(DefaultJSONProvider):
    sort_keys = False  # keep keys in Daraja's order (MerchantRequestID first, …)


class _EmulatorFlask(Flask):
    json_provider_class = _DarajaOrderJSON


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Clock = time.time,
    http: requests.Session | None = None,
    rng: random.Random | None = None,
    sleep: Sleep = time.sleep,
) -> Flask:
    """The emulator as a Flask app; its state lives in app.extensions["daraja_emulator"].

    `clock` (epoch seconds) drives token expiry, ids and when pushes are decided; `http`
    sends callbacks; `rng` feeds every generated id; `sleep` waits the answer latency (real
    seconds). Nothing starts: background delivery is EmulatorServer's job (or drive callbacks
    through the /_emulator/ control API).
    """
    emulator = Emulator.build(
        config or load_config(None), clock=clock, http=http, rng=rng, sleep=sleep
    )
    app = _EmulatorFlask(__name__)
    app.extensions[EXTENSION] = emulator
    register_error_handlers(app, emulator.ids.request_id)
    for blueprint in (*PRODUCT_BLUEPRINTS, *CONTROL_BLUEPRINTS):
        app.register_blueprint(blueprint)
    app.after_request(_title_case_reason)
    app.after_request(_answer_latency)
    return app


def _answer_latency(response: Response) -> Response:
    """Hold a Daraja API answer — success or error, the work already done — for the answer
    latency. Routing errors (404/405) and the control API answer at once."""
    if request.blueprint in PRODUCT_NAMES:
        current_emulator().wait_answer_latency(oauth=request.blueprint == oauth.blueprint.name)
    return response


def _title_case_reason(response: Response) -> Response:
    """Send "404 Not Found" like Apigee, not Werkzeug's "404 NOT FOUND"; keep custom phrases."""
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        return response
    if response.status.upper() == f"{response.status_code} {phrase}".upper():
        response.status = f"{response.status_code} {phrase}"
    return response
