"""M-Pesa Express endpoints: STK Push processrequest and STK Query (Bearer token required)."""

from __future__ import annotations

from flask import Blueprint, request

from daraja_emulator import fields
from daraja_emulator.auth import require_access_token
from daraja_emulator.products.stk_service import accept_push, query_push
from daraja_emulator.runtime import current_emulator

blueprint = Blueprint("stk", __name__)
blueprint.before_request(require_access_token())


@blueprint.post("/mpesa/stkpush/v1/processrequest")
def process_request() -> dict[str, str]:
    return accept_push(current_emulator(), fields.json_object(request.get_data()))


@blueprint.post("/mpesa/stkpushquery/v1/query")
def query() -> dict[str, str]:
    return query_push(current_emulator(), fields.json_object(request.get_data()))
