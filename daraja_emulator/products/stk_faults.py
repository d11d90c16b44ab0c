"""Scripted processrequest faults: refusals before acceptance, broken or late answers after it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify
from flask.typing import ResponseReturnValue

from daraja_emulator.errors import DarajaError

REFUSING = ("spike_arrest", "quota_violation", "html_503", "nonzero_response_code")
NOT_ACCEPTED = "Request not accepted for processing"  # our wording: the reference has none

# Small pages like the ones an Apigee edge or its load balancer sends (no Daraja sample).
PAGE = (
    "<!DOCTYPE html>\n<html><head><title>{status}</title></head>\n"
    "<body><h1>{title}</h1><p>{text}</p></body></html>\n"
)
SERVICE_UNAVAILABLE = PAGE.format(
    status="503 Service Unavailable",
    title="Service Unavailable",
    text="The service is temporarily unavailable. Please try again later.",
)
GATEWAY_TIMEOUT = PAGE.format(
    status="504 Gateway Timeout",
    title="Gateway Timeout",
    text="The gateway did not receive a timely response from the upstream server.",
)


def refusal(fault: str | None, new_id: Callable[[], str]) -> ResponseReturnValue | None:
    """The answer to a push the fault stops before anything is accepted; None to go on.

    Throttling faults raise the Daraja envelope exactly as API.md §13 lists them.
    """
    if fault == "spike_arrest":
        raise DarajaError(500, "500.003.02", "Error Occurred: Spike Arrest Violation")
    if fault == "quota_violation":
        raise DarajaError(500, "500.003.03", "Error Occurred: Quota Violation")
    if fault == "html_503":
        return _html(SERVICE_UNAVAILABLE, 503)
    if fault == "nonzero_response_code":
        return {
            "MerchantRequestID": new_id(),
            "CheckoutRequestID": "",
            "ResponseCode": "1",
            "ResponseDescription": NOT_ACCEPTED,
            "CustomerMessage": NOT_ACCEPTED,
        }
    return None


def answer(fault: str | None, body: dict[str, Any], answer_delay: float) -> ResponseReturnValue:
    """The HTTP answer to an accepted push: normally `body`; broken or late under a fault."""
    if fault == "html_504":  # the gateway gave up in front of a backend that did the work
        return _html(GATEWAY_TIMEOUT, 504)
    if fault == "truncated":
        whole = jsonify(body).get_data()  # exactly the normal answer
        return Response(whole[: len(whole) // 2], 200, mimetype="application/json")
    if fault == "slow":
        time.sleep(answer_delay)  # real seconds: client timeouts are real
    return body


def _html(page: str, status: int) -> Response:
    return Response(page, status, mimetype="text/html")
