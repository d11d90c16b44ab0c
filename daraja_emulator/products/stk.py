"""M-Pesa Express endpoints: STK Push processrequest and STK Query (Bearer token required)."""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from daraja_emulator import fields
from daraja_emulator.auth import require_access_token
from daraja_emulator.products.stk_service import process_push, query_push
from daraja_emulator.runtime import current_emulator

blueprint = Blueprint("stk", __name__)
# Requests received per endpoint, whatever their outcome (GET /_emulator/stats).
REQUEST_STATS = {"stk.process_request": "stk_push_requests", "stk.query": "stk_query_requests"}


@blueprint.before_request
def count_request() -> None:
    stat = REQUEST_STATS.get(request.endpoint or "")
    if stat is not None:
        current_emulator().state.count(stat)


blueprint.before_request(require_access_token())
blueprint.before_request(fields.require_json_content_type)


@blueprint.post("/mpesa/stkpush/v1/processrequest")
def process_request() -> ResponseReturnValue:
    return process_push(current_emulator(), fields.json_object(request.get_data()))


@blueprint.post("/mpesa/stkpushquery/v1/query")
def query() -> dict[str, str]:
    return query_push(current_emulator(), fields.json_object(request.get_data()))
